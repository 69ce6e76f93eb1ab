"""The decision engine's Casbin models (``model.conf``; ``roles.conf`` with ``roles.csv`` for the API's
roles), shipped inside the ``authreg`` package. The YAML beside them is the example registry that
``make run`` applies; it is not part of the package."""
