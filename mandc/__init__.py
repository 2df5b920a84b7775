"""M&C (Match & Choose): which pretrained text-to-image model should you fine-tune on your images?"""

__version__ = "0.1.0"
