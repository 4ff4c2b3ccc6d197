"""Jinja2 for large documents: the same templates and output, with less work per call.

A minutes document of a long meeting makes a template call a macro or a helper tens of
thousands of times and read as many keys of dicts. Jinja's own ``Context.call`` first asks
every callable whether it wants the context passed (several ``hasattr``), and its
``Environment.getattr`` tries an attribute before the key, so every ``line.body`` of a dict
raises and catches an ``AttributeError``. Here a macro, a function or a method that takes no
context is called at once, and a dict's key that is not one of dict's own attributes is
read first: what Jinja would have found either way, found sooner.

Imported only when a first document is rendered (Jinja2 stays off the bot's start path).
"""

from __future__ import annotations

from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any

from jinja2 import Environment
from jinja2.runtime import Context, Macro

# Callables Jinja calls as they are unless they carry ``jinja_pass_arg`` (``pass_context``
# and the like), which is looked for below.
_PLAIN_CALLABLES = (FunctionType, MethodType, BuiltinFunctionType)
_DICT_ATTRIBUTES = frozenset(dir(dict))


class QuickContext(Context):
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(__obj)
        if kind is Macro:  # its __call__ takes the eval context, as Context.call passes it
            args = (__self.eval_ctx, *args)
        elif kind not in _PLAIN_CALLABLES or hasattr(__obj, "jinja_pass_arg"):
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


class QuickEnvironment(Environment):
    context_class = QuickContext

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except LookupError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)
