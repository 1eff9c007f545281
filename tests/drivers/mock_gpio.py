"""gpiozero MockFactory wiring for the tests: pins that move other pins, as a
contactor's coil moves its aux contact and a lock motor moves its feedback switch."""

from __future__ import annotations

from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin


class DrivingPin(MockPin):  # type: ignore[misc]
    """An output that, when switched on, drives `target` to `level` (and, when
    `follow`, back to the other level when switched off: a coil and its aux contact).
    `stuck` freezes the mechanics: a welded contact or a jammed lock."""

    def __init__(
        self, factory: Any, info: Any, target: Any = None, level: bool = True, follow: bool = False
    ) -> None:
        super().__init__(factory, info)
        self.target = target
        self.level = level
        self.follow = follow
        self.stuck = False

    def _change_state(self, value: bool) -> bool:
        if self.target is not None and not self.stuck and (value or self.follow):
            want = self.level if value else not self.level
            if want:
                self.target.drive_high()
            else:
                self.target.drive_low()
        return bool(super()._change_state(value))


def wire(factory: MockFactory, out_pin: int, in_pin: int, level: bool, follow: bool) -> DrivingPin:
    target = factory.pin(in_pin)
    pin = factory.pin(out_pin, pin_class=DrivingPin, target=target, level=level, follow=follow)
    assert isinstance(pin, DrivingPin)
    return pin
