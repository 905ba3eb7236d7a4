"""Exceptions raised by the twin: one base class and one class per failure family.

Public names: :class:`TwinError`, :class:`Problem`, :class:`ScenarioError`,
:class:`PowerFlowError`, :class:`RunCancelledError`, :class:`ResultsError`,
:data:`MAX_MESSAGE_CHARS`, :func:`clip`.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_MESSAGE_CHARS = 1000
"""Longest message (and field path) one problem line holds; longer ones (a value echoed
back from a crafted file) are cut, saying how long they were."""


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}... (cut, {len(text)} characters)"


class TwinError(Exception):
    """Base class of every error the twin raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a scenario.

    Attributes
    ----------
    file : str
        The scenario file the problem is in ("<scenario>" when not from a file).
    path : str
        Dotted field path inside the file (e.g. ``assets.0.capacity_kwh``), or "" for
        the file as a whole.
    message : str
        What is wrong and what is expected.

    The path and message are cut to :data:`MAX_MESSAGE_CHARS` (the file name is kept).
    """

    file: str
    path: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", clip(str(self.path)))
        object.__setattr__(self, "message", clip(str(self.message)))

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class ScenarioError(TwinError):
    """A scenario file or object is invalid; carries one :class:`Problem` per defect.

    ``str(error)`` gives one line per problem, naming file, field path and what is
    expected, which is what the CLI prints before exiting with code 2.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, path: str, message: str) -> ScenarioError:
        """Build an error holding one problem."""
        return cls([Problem(file, path, message)])


class PowerFlowError(TwinError):
    """The power flow could not be set up for a network (not a non-converged step:
    those are recorded as events)."""


class RunCancelledError(TwinError):
    """A run was cancelled by its caller; nothing was written to the results store."""


class ResultsError(TwinError):
    """A run directory is missing, partial or corrupted (the message names the file)."""
