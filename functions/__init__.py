"""Microblog: everything that runs, locally and on AWS Lambda."""
