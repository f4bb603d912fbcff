"""Timing helpers."""
import time
from os import sep


def elapsed(start):
    return time.time() - start


def joined(a, b):
    return a + sep + b
