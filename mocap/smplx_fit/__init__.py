"""SMPL-X fitting."""
