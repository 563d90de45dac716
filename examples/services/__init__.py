"""Example services for the README's guide (python_modules = ["examples.services.*"])."""
