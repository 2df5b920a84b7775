"""The mini zoo: procedural image–caption domains (see ``domains``) and tiny T2I models."""
