"""M&C (Match & Choose): which pretrained text-to-image model should you fine-tune on your images?

See the README for the commands; the flow is data → features → graph → embed → recommend.
"""

__version__ = "0.1.0"
