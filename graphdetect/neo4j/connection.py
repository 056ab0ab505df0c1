"""Where the Neo4j server is, how to reach it, and errors a person can act on.

The connection comes from the environment: ``GRAPHDETECT_NEO4J_URI`` (default
``bolt://localhost:7687``), ``GRAPHDETECT_NEO4J_USER`` (default ``neo4j``),
``GRAPHDETECT_NEO4J_PASSWORD`` (never taken from the command line) and
``GRAPHDETECT_NEO4J_DATABASE`` (default ``neo4j``).

>>> cfg = Neo4jConfig.from_env({"GRAPHDETECT_NEO4J_PASSWORD": "s3cret"})
>>> cfg.uri, cfg.user, cfg.database
('bolt://localhost:7687', 'neo4j', 'neo4j')
>>> "s3cret" in repr(cfg)
False
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit, urlunsplit

import neo4j
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConfigurationError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from ..errors import GraphdetectError
from ._cypher import cypher_statements, cypher_text

__all__ = ["Neo4jConfig", "Connection", "GraphServerError", "LoadInterrupted", "connect",
           "ENV_PREFIX"]

ENV_PREFIX = "GRAPHDETECT_NEO4J_"
_TIMEOUT_S = 10.0
_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


class GraphServerError(GraphdetectError):
    """The Neo4j server cannot be reached or used; the message names the URI and why.

    Examples
    --------
    >>> str(GraphServerError("bolt://db:7687", "wrong user or password"))
    'Neo4j at bolt://db:7687: wrong user or password'
    """

    def __init__(self, uri: str, problem: str):
        self.uri = uri
        self.problem = problem
        super().__init__(f"Neo4j at {uri}: {problem}")


class LoadInterrupted(GraphServerError):
    """A load or push stopped part way; ``batches`` of ``total`` were written.

    ``keyboard`` is true when the person pressed Ctrl-C (the CLI then exits 130).
    """

    def __init__(self, uri: str, what: str, batches: int, total: int, why: str,
                 *, keyboard: bool = False):
        self.batches = batches
        self.total = total
        self.keyboard = keyboard
        super().__init__(uri, f"{what} interrupted ({why}) after {batches:,} of {total:,} "
                              f"batches were written; the database holds a partial {what}. "
                              f"It is safe to run it again to finish")


@dataclass(frozen=True)
class Neo4jConfig:
    """How to reach one Neo4j database. The password is kept out of ``repr``."""

    uri: str = "bolt://localhost:7687"
    user: str = "neo4j"
    password: str | None = field(default=None, repr=False)
    database: str = "neo4j"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Neo4jConfig:
        """Read ``GRAPHDETECT_NEO4J_{URI,USER,PASSWORD,DATABASE}``; ``overrides`` win.

        Overrides that are None are ignored (handy for optional CLI options).
        """
        env = os.environ if environ is None else environ
        values = {k: env[ENV_PREFIX + k.upper()] for k in ("uri", "user", "password", "database")
                  if env.get(ENV_PREFIX + k.upper())}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)

    @property
    def safe_uri(self) -> str:
        """The URI without any ``user:password@`` part, for messages."""
        try:
            parts = urlsplit(self.uri)
        except ValueError:
            return "<unparseable URI>"
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class Connection:
    """An open driver bound to one database, running the named statements of ``cypher/``.

    Use :func:`connect` to make one (it checks the server, the login and the database).
    Every driver error becomes a :class:`GraphServerError` naming the URI.
    """

    def __init__(self, config: Neo4jConfig):
        self.config = config
        scheme = config.uri.partition("://")[0] if "://" in config.uri else ""
        if scheme not in _SCHEMES:
            raise GraphServerError(config.safe_uri, "not a usable URI (it must start with "
                                   f"{'://, '.join(_SCHEMES)}://)")
        if "@" in config.uri.partition("://")[2].partition("/")[0]:
            raise GraphServerError(config.safe_uri, f"not a usable URI (give the user and "
                                   f"password in {ENV_PREFIX}USER and {ENV_PREFIX}PASSWORD, "
                                   f"not in the URI)")
        auth = (config.user, config.password) if config.password else None
        try:
            self.driver = neo4j.GraphDatabase.driver(
                config.uri, auth=auth, connection_timeout=_TIMEOUT_S,
                connection_acquisition_timeout=2 * _TIMEOUT_S,
                max_transaction_retry_time=2 * _TIMEOUT_S, user_agent="graphdetect")
        except (ConfigurationError, ValueError) as exc:
            raise GraphServerError(config.safe_uri, f"not a usable URI "
                                   f"({_first_line(exc, config)})") from None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.driver.close()

    def verify(self) -> dict:
        """Check the server, the login and the database; return the server's agent."""
        with self.errors():
            self.driver.verify_connectivity()
            info = self.driver.get_server_info()
            self.driver.execute_query(cypher_text("ping"), database_=self.config.database,
                                      routing_=neo4j.RoutingControl.READ)
        return {"agent": info.agent, "protocol": ".".join(map(str, info.protocol_version)),
                "address": str(info.address)}

    def read(self, name: str, **params) -> list[dict]:
        """Run the read-only statement ``cypher/NAME.cypher``; rows as dicts."""
        return self._run(cypher_text(name), params, neo4j.RoutingControl.READ)

    def write(self, name: str, **params) -> list[dict]:
        """Run the statement ``cypher/NAME.cypher`` in a write transaction."""
        return self._run(cypher_text(name), params, neo4j.RoutingControl.WRITE)

    def write_all(self, name: str) -> int:
        """Run every statement of a multi-statement file (the schema); return how many."""
        statements = cypher_statements(name)
        for text in statements:
            self._run(text, {}, neo4j.RoutingControl.WRITE)
        return len(statements)

    def _run(self, text: str, params: dict, routing) -> list[dict]:
        with self.errors():
            records, _, _ = self.driver.execute_query(
                text, parameters_=params, database_=self.config.database, routing_=routing)
        return [r.data() for r in records]

    def errors(self):
        """A context manager that turns driver errors into :class:`GraphServerError`."""
        return _Translate(self.config)


class _Translate:
    def __init__(self, config: Neo4jConfig):
        self.config = config

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, GraphdetectError) or \
                not isinstance(exc, DriverError | Neo4jError | ValueError):
            return False
        raise GraphServerError(self.config.safe_uri, describe(exc, self.config)) from exc


def describe(exc: BaseException, config: Neo4jConfig) -> str:
    """One sentence for a driver error: what went wrong and what to check."""
    if isinstance(exc, AuthError):
        return (f"the server refused user {config.user!r}: wrong user or password "
                f"(check {ENV_PREFIX}USER and {ENV_PREFIX}PASSWORD)")
    if isinstance(exc, ServiceUnavailable | SessionExpired):
        return "cannot connect: the server is down or the address is wrong " \
               f"({_first_line(exc, config)})"
    code = getattr(exc, "code", None) or ""
    if code == "Neo.ClientError.Database.DatabaseNotFound":
        return (f"there is no database {config.database!r} "
                f"(check {ENV_PREFIX}DATABASE)")
    if isinstance(exc, ClientError) and code.startswith("Neo.ClientError.Security"):
        return f"user {config.user!r} may not do this ({_first_line(exc, config)})"
    if isinstance(exc, Neo4jError):
        return f"the server refused a statement: {code}: {_first_line(exc, config)}"
    if isinstance(exc, ValueError):  # the driver's word for an address it cannot resolve
        return f"not a usable address ({_first_line(exc, config)})"
    return f"driver error: {_first_line(exc, config)}"


def _first_line(exc: BaseException, config: Neo4jConfig) -> str:
    """The error's message on one line, with the URI's credentials and the password out."""
    text = str(getattr(exc, "message", None) or exc or type(exc).__name__)
    text = text.replace(config.uri, config.safe_uri)
    if config.password:
        text = text.replace(config.password, "***")
    return " ".join(text.split())[:300]


def connect(config: Neo4jConfig | None = None) -> Connection:
    """Open and verify a connection (from the environment when ``config`` is None).

    Raises
    ------
    GraphServerError
        When the server is down, the login is refused or the database does not exist.
    """
    conn = Connection(config or Neo4jConfig.from_env())
    try:
        conn.verify()
    except BaseException:
        conn.close()
        raise
    return conn
