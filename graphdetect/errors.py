"""The one error hierarchy of graphdetect.

Every error a user can cause derives from :class:`GraphdetectError`; the CLI turns
it into a one-line message and exit code 2.
"""

from __future__ import annotations

__all__ = ["GraphdetectError", "DataError", "ParameterError", "RunError", "EngineError",
           "LedgerError", "RulesError"]


class GraphdetectError(Exception):
    """Base class of every error graphdetect raises on purpose."""

    def text(self, lang: str = "en") -> str:
        """The message in ``lang`` (``"en"`` or ``"zh"``); English unless a subclass knows more."""
        return str(self)


class DataError(GraphdetectError):
    """An input file cannot be read at all (missing column, not a table, bad encoding).

    Parameters
    ----------
    file : str
        The file's name as the user knows it.
    problem : str
        A key of :data:`graphdetect.messages.MESSAGES` (``"data.not_csv"``), filled with
        ``args``; any other string is the problem itself, in English.
    **args
        The message's arguments; the message is rendered when it is shown, in the user's
        language (:meth:`text`), so the CLI translates without parsing strings.

    Examples
    --------
    >>> err = DataError("claims.csv", "data.not_csv")
    >>> str(err)
    'claims.csv: not a comma-separated table'
    >>> err.text("zh")
    'claims.csv：不是逗号分隔的表格'
    >>> str(DataError("truth.json", "no truth.json here"))
    'truth.json: no truth.json here'
    """

    def __init__(self, file: str, problem: str, **args):
        self.file = file
        self.key = problem
        self.args_ = args
        self.problem = self._problem("en")
        super().__init__(self.text("en"))

    def _problem(self, lang: str) -> str:
        from .messages import MESSAGES, text

        if self.key not in MESSAGES:
            return self.key
        args = {k: v(lang) if callable(v) else v for k, v in self.args_.items()}
        return text(self.key, lang, **args)

    def text(self, lang: str = "en") -> str:
        from .messages import text

        return text("data.in_file", lang, file=self.file, problem=self._problem(lang))


class ParameterError(GraphdetectError, ValueError):
    """A parameter is out of its documented range.

    Examples
    --------
    >>> str(ParameterError("min_occasions", "collusion_ring", "an int >= 2", 1))
    "The 'min_occasions' parameter of collusion_ring must be an int >= 2; got 1."
    """

    def __init__(self, name: str, owner: str, expected: str, got: object):
        self.name = name
        super().__init__(
            f"The {name!r} parameter of {owner} must be {expected}; got {got!r}."
        )


class RunError(GraphdetectError):
    """A run folder is missing or not a graphdetect run.

    Parameters
    ----------
    message : str
        A key of :data:`graphdetect.messages.MESSAGES` (``"run.not_run"``), filled with
        ``args`` and shown in the user's language (:meth:`text`); any other string is the
        message itself, in English.

    Examples
    --------
    >>> err = RunError("run.no_cases", path="runs/x")
    >>> str(err)
    'runs/x: not a graphdetect run folder (no cases.jsonl)'
    >>> err.text("zh")
    'runs/x：不是 graphdetect 运行目录（没有 cases.jsonl）'

    """

    def __init__(self, message: str, **args):
        self.key, self.args_ = message, args
        super().__init__(self.text("en"))

    def text(self, lang: str = "en") -> str:
        from .messages import MESSAGES, text

        return text(self.key, lang, **self.args_) if self.key in MESSAGES else self.key


class EngineError(RunError):
    """The engine a run asked for cannot run it: PySpark or Java missing, a master URL
    Spark cannot use, a Spark job that failed. Keys and arguments as :class:`RunError`.

    Examples
    --------
    >>> EngineError("engine.bad_master", master="nowhere").text("en").split(":")[0]
    '--master nowhere'
    """


class LedgerError(GraphdetectError):
    """A recording or revocation the integrity ledger refuses (``graphdetect ledger``).

    ``key`` is a key of :data:`graphdetect.messages.MESSAGES` filled with ``args`` (an
    argument may be ``callable(lang)``), shown in the user's language.

    Examples
    --------
    >>> err = LedgerError("ledger.no_entry", entry=7)
    >>> str(err), err.text("zh")
    ('no ledger entry 7', '台账中没有第 7 条')
    """

    def __init__(self, key: str, **args):
        self.key, self.args_ = key, args
        super().__init__(self.text("en"))

    def text(self, lang: str = "en") -> str:
        from .messages import text

        return text(self.key, lang, **{k: v(lang) if callable(v) else v
                                       for k, v in self.args_.items()})


class RulesError(LedgerError):
    """A scoring table of the ledger that cannot be used: the message names the file and
    the entry (``points.聚敛盗刷.grave.doctor``); ``problem`` is a message key.

    Examples
    --------
    >>> err = RulesError("rules.toml", "points.odd", "rules.not_rule")
    >>> str(err)
    'rules.toml: points.odd: not a pattern name or rule category of graphdetect'
    >>> err.text("zh")
    'rules.toml：points.odd：不是 graphdetect 的模式名或规则类别'
    """

    def __init__(self, file, entry: str, problem: str, **args):
        from .messages import text

        self.file, self.entry = str(file), entry
        super().__init__("rules.in_entry", file=str(file), entry=entry,
                         problem=lambda lang: text(problem, lang, **args))


class ProcedureError(LedgerError):
    """A step of the review procedure that is refused: a committee, a vote, a random
    draw, an affiliation or an appeal (:mod:`graphdetect.review.committee`,
    :mod:`graphdetect.review.draw`, :mod:`graphdetect.ledger.appeals`).

    Examples
    --------
    >>> err = ProcedureError("procedure.voted_already", committee=3, name="rev")
    >>> str(err), err.text("zh")
    ('committee #3: rev has voted already', '会审 #3：rev 已投票')
    """
