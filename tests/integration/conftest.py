# SPDX-License-Identifier: BSD-2-Clause
"""Shared fixtures for the integration tests.

Every test gets its own temporary state directory and free ports; nothing
binds the default ports (1883, 8080), which other services may hold.
"""
import os
import socket

import pytest

SRCDIR = os.environ.get("MQTTD_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("MQTTD_BUILDDIR") or SRCDIR


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def srcdir():
    return SRCDIR


@pytest.fixture
def builddir():
    return BUILDDIR
