"""The one way an openclaw module's workflow fails (stdlib only; runs on the target).

A workflow in module_utils raises ModuleFailure with one sentence and the result fields that go with it; the module's
main() turns it into its single fail_json call. It is not a RuntimeError on purpose: the workflows catch RuntimeError
from a failed step to roll back, and a decided failure must pass through those handlers.
"""


class ModuleFailure(Exception):
    """`msg` and the result fields to return with it."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def finish(module, work):
    """The module's one exit: exit_json with what `work()` returns, or fail_json with a ModuleFailure's sentence and
    result fields."""
    try:
        result = work()
    except ModuleFailure as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    module.exit_json(**result)
