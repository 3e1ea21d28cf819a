"""optimise"""
