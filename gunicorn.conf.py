"""gunicorn reads this file from its working directory: see caregov/serving.py."""

from caregov.serving import settings

globals().update(settings())
