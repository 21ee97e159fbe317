"""openclaw-ops command-line entry point (`openclaw-ops`): the project's playbooks through ansible-runner."""

__version__ = "0.1.0"
