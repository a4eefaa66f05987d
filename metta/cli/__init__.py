"""The `metta` developer command (metta/cli/main.py): install, configure, status, clean, pytest,
lint, ci and the validation suites."""
