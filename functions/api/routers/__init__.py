"""One router per feature, like the tutorial's blueprints."""
