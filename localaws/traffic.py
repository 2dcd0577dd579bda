"""What the control endpoint steers: call counts, injected faults, Cognito quota buckets."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

OUTCOMES = ("calls", "throttled", "injected_errors", "resets", "failed")


class ConfigError(ValueError):
    """A control request with a bad body; answered 400."""


class CallCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # account -> operation -> outcome -> count
        self._counts: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
        )

    def add(self, account: str, operation: str, outcome: str) -> None:
        with self._lock:
            self._counts[account][operation][outcome] += 1

    def snapshot(self, account: str | None) -> dict[str, Any]:
        with self._lock:
            accounts = [account] if account else list(self._counts)
            operations: dict[str, dict[str, int]] = {}
            for name in accounts:
                for operation, counts in self._counts.get(name, {}).items():
                    total = operations.setdefault(operation, dict.fromkeys(OUTCOMES, 0))
                    for outcome, count in counts.items():
                        total[outcome] += count
        return {
            "account": account,
            "total": sum(counts["calls"] for counts in operations.values()),
            "operations": dict(sorted(operations.items())),
        }

    def reset(self, account: str | None) -> None:
        with self._lock:
            if account:
                self._counts.pop(account, None)
            else:
                self._counts.clear()


def _share(config: dict[str, Any], key: str) -> float:
    value = config.get(key, 0.0)
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{key} must be a number between 0 and 1")
    return float(value)


def _names(config: dict[str, Any], key: str) -> set[str] | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key} must be a list of strings")
    return set(value)


def _check_keys(config: Any, allowed: set[str]) -> None:
    if not isinstance(config, dict):
        raise ConfigError("the body must be a JSON object")
    unknown = set(config) - allowed
    if unknown:
        raise ConfigError(f"unknown fields: {sorted(unknown)}; allowed: {sorted(allowed)}")


@dataclass
class Fault:
    latency_seconds: float = 0.0
    # None, "throttle", "error" or "reset"
    outcome: str | None = None
    # For "error": (code, HTTP status, message) instead of the service's internal error.
    error: tuple[str, int, str] | None = None


class _FaultPlan:
    """One POST /_localaws/faults: its settings and its own seeded random sequence."""

    KEYS = {
        "seed",
        "throttle_share",
        "error_share",
        "reset_share",
        "latency_ms",
        "operations",
        "accounts",
        "max_faults",
        "error_code",
        "error_status",
        "error_message",
    }

    def __init__(self, config: Any) -> None:
        _check_keys(config, self.KEYS)
        self.shares = [
            _share(config, key) for key in ("throttle_share", "error_share", "reset_share")
        ]
        if sum(self.shares) > 1.0:
            raise ConfigError("throttle_share + error_share + reset_share must be at most 1")
        latency = config.get("latency_ms", 0)
        if isinstance(latency, (int, float)):
            latency = [latency, latency]
        if (
            not isinstance(latency, list)
            or len(latency) != 2
            or not all(isinstance(value, (int, float)) and value >= 0 for value in latency)
            or latency[0] > latency[1]
        ):
            raise ConfigError("latency_ms must be a number or [min, max] milliseconds")
        self.max_faults = config.get("max_faults")
        if self.max_faults is not None and (
            not isinstance(self.max_faults, int) or self.max_faults < 0
        ):
            raise ConfigError("max_faults must be a non-negative integer")
        # What an injected error answers: by default the service's own 500; with error_code, any
        # AWS error (AccessDeniedException 400, ExpiredTokenException 400, ...), to test how
        # cogwire explains it.
        code = config.get("error_code")
        status = config.get("error_status", 400 if code else 500)
        message = config.get("error_message", f"injected {code}" if code else "")
        if code is not None and not isinstance(code, str):
            raise ConfigError("error_code must be a string")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ConfigError("error_status must be an HTTP error status")
        if not isinstance(message, str):
            raise ConfigError("error_message must be a string")
        self.error = (code, status, message) if code else None
        self.config = dict(config)
        self.latency = (latency[0] / 1000.0, latency[1] / 1000.0)
        self.operations = _names(config, "operations")
        self.accounts = _names(config, "accounts")
        self.injected = 0
        self.random = random.Random(config.get("seed", 0))

    def decide(self, operation: str) -> Fault:
        if self.operations is not None and operation not in self.operations:
            return Fault()
        # Always two draws per call, so that a seed gives the same sequence whatever happens.
        latency = self.random.uniform(*self.latency)
        draw = self.random.random()
        if self.max_faults is not None and self.injected >= self.max_faults:
            return Fault(latency)
        threshold = 0.0
        for outcome, share in zip(("throttle", "error", "reset"), self.shares):
            threshold += share
            if draw < threshold:
                self.injected += 1
                return Fault(latency, outcome, self.error if outcome == "error" else None)
        return Fault(latency)


class Faults:
    """Fault plans by account (None: every account without a plan of its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str | None, _FaultPlan] = {}

    def set(self, config: Any) -> None:
        plan = _FaultPlan(config)
        with self._lock:
            for account in plan.accounts or [None]:
                self._plans[account] = plan

    def clear(self, account: str | None) -> None:
        with self._lock:
            if account:
                self._plans.pop(None if account == "*" else account, None)
            else:
                self._plans.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            plans = {id(plan): plan for plan in self._plans.values()}.values()
            return [{**plan.config, "injected": plan.injected} for plan in plans]

    def decide(self, account: str, operation: str) -> Fault:
        with self._lock:
            plan = self._plans.get(account) or self._plans.get(None)
            return plan.decide(operation) if plan else Fault()


# Cognito's documented request-rate quotas, by category, per account (requests per second).
CATEGORY_RPS = {
    "UserPoolResourceUpdate": 15.0,
    "UserPoolResourceRead": 20.0,
    "UserPoolClientUpdate": 15.0,
    "UserPoolClientRead": 15.0,
}
CATEGORY_OF = {
    "CreateResourceServer": "UserPoolResourceUpdate",
    "UpdateResourceServer": "UserPoolResourceUpdate",
    "DeleteResourceServer": "UserPoolResourceUpdate",
    "DescribeResourceServer": "UserPoolResourceRead",
    "ListResourceServers": "UserPoolResourceRead",
    "CreateUserPoolClient": "UserPoolClientUpdate",
    "UpdateUserPoolClient": "UserPoolClientUpdate",
    "DeleteUserPoolClient": "UserPoolClientUpdate",
    "AddUserPoolClientSecret": "UserPoolClientUpdate",
    "DeleteUserPoolClientSecret": "UserPoolClientUpdate",
    "ListUserPoolClientSecrets": "UserPoolClientRead",
    "DescribeUserPoolClient": "UserPoolClientRead",
    "ListUserPoolClients": "UserPoolClientRead",
}
# Any single operation on one user pool.
POOL_OPERATION_RPS = 5.0


class _Bucket:
    """Refills at `rate` a second up to `capacity` calls. At a speed-up S the rate is S times the
    quota and the capacity stays one second of the quota itself: time runs S times faster, and a
    bucket holds as many calls as at real speed."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now


class _QuotaSettings:
    KEYS = {"enabled", "speedup", "limits", "accounts"}

    def __init__(self, config: Any) -> None:
        _check_keys(config, self.KEYS)
        self.enabled = bool(config.get("enabled", True))
        self.speedup = config.get("speedup", 1.0)
        if not isinstance(self.speedup, (int, float)) or self.speedup <= 0:
            raise ConfigError("speedup must be a positive number")
        self.limits: dict[tuple[str | None, str | None], float] = {}
        for limit in config.get("limits", []):
            _check_keys(limit, {"operation", "pool", "rps"})
            if not isinstance(limit.get("rps"), (int, float)) or limit["rps"] <= 0:
                raise ConfigError("each limit needs a positive rps")
            self.limits[(limit.get("operation"), limit.get("pool"))] = float(limit["rps"])
        self.accounts = _names(config, "accounts")
        self.config = {**config, "enabled": self.enabled}


class Quotas:
    """Token buckets per account: settings by account (None: every account without its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings: dict[str | None, _QuotaSettings] = {}
        self._buckets: dict[tuple[str, ...], _Bucket] = {}

    def set(self, config: Any) -> None:
        settings = _QuotaSettings(config)
        with self._lock:
            for account in settings.accounts or [None]:
                self._settings[account] = settings
            self._forget_buckets(settings.accounts)

    def clear(self, account: str | None) -> None:
        """account: one account's settings, "*" those for every account, None all of them."""
        with self._lock:
            if account is None:
                self._settings.clear()
                self._buckets.clear()
            else:
                key = None if account == "*" else account
                self._settings.pop(key, None)
                self._forget_buckets(None if key is None else {key})

    def _forget_buckets(self, accounts: set[str] | None) -> None:
        """Starts afresh the buckets of `accounts`, or of every account without its own settings."""
        if accounts is None:
            self._buckets = {
                key: bucket for key, bucket in self._buckets.items() if key[1] in self._settings
            }
        else:
            self._buckets = {
                key: bucket for key, bucket in self._buckets.items() if key[1] not in accounts
            }

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            unique = {id(settings): settings for settings in self._settings.values()}
            return [settings.config for settings in unique.values()]

    def admit(self, account: str, operation: str, pool: str | None) -> bool:
        """Takes a token from every bucket the call draws on, or from none if one is empty."""
        with self._lock:
            settings = self._settings.get(account) or self._settings.get(None)
            if settings is None or not settings.enabled:
                return True
            wanted: list[tuple[tuple[str, ...], float]] = []
            if pool:
                rps = settings.limits.get((operation, pool), POOL_OPERATION_RPS)
                wanted.append((("pool", account, pool, operation), rps))
            category = CATEGORY_OF.get(operation)
            if category:
                wanted.append((("account", account, category), CATEGORY_RPS[category]))
            now = time.monotonic()
            buckets = []
            for key, rps in wanted:
                bucket = self._buckets.get(key)
                if bucket is None:
                    bucket = self._buckets[key] = _Bucket(rps * settings.speedup, rps)
                bucket.refill(now)
                buckets.append(bucket)
            if any(bucket.tokens < 1.0 for bucket in buckets):
                return False
            for bucket in buckets:
                bucket.tokens -= 1.0
            return True
