"""Why an order event was refused: an HTTP status, a stable code and a reason for the sender."""


class EventRejected(Exception):
    def __init__(self, status: int, code: str, reason: str):
        self.status, self.code, self.reason = status, code, reason
        super().__init__(f"{code}: {reason}")
