"""strawberry's extension runner, with the hooks of the schema's one extension called
directly.

On every request, strawberry's runner looks at each hook of each extension again
(`inspect`, `functools.update_wrapper`, a `contextlib` manager per hook and an exit
stack per stage): for `OperationGuard`, whose hooks never catch what happens while
they are suspended, a generator stepped by hand does the same at a fraction of the
cost. Any other set of extensions goes to strawberry's runner.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from types import TracebackType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from graphql_api.operation import OperationGuard


def create_runner(
    execution_context: ExecutionContext, extensions: list[SchemaExtension]
) -> SchemaExtensionsRunner:
    if len(extensions) == 1 and type(extensions[0]) is OperationGuard:
        return GuardRunner(execution_context, extensions[0])
    return SchemaExtensionsRunner(execution_context, extensions)


class GuardRunner(SchemaExtensionsRunner):
    def __init__(self, execution_context: ExecutionContext, guard: OperationGuard) -> None:
        super().__init__(execution_context, [guard])
        self.guard = guard

    def operation(self) -> Any:
        return _AsyncStage(self.guard.on_operation)

    def parsing(self) -> Any:
        return _Stage(self.guard.on_parse)

    def validation(self) -> Any:
        return _Stage(self.guard.on_validate)

    def executing(self) -> Any:
        return _Stage(self.guard.on_execute)


class _Stage:
    """A generator hook as a context manager (with or async with): its code before
    ``yield`` on entry, after it on a normal exit; an exception skips the rest."""

    __slots__ = ("_hook", "_steps")

    def __init__(self, hook: Callable[[], Generator[None, None, None]]) -> None:
        self._hook = hook

    def __enter__(self) -> None:
        self._steps = self._hook()
        next(self._steps)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            next(self._steps, None)
        else:
            self._steps.close()

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)


class _AsyncStage:
    """An async generator hook as an async context manager, as `_Stage`."""

    __slots__ = ("_hook", "_steps")

    def __init__(self, hook: Callable[[], AsyncGenerator[None, None]]) -> None:
        self._hook = hook

    async def __aenter__(self) -> None:
        self._steps = self._hook()
        await anext(self._steps)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await anext(self._steps, None)
        else:
            await self._steps.aclose()
