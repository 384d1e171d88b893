"""moto_server, serving one request at a time, with all-or-nothing TransactWriteItems.

Two differences of moto from AWS matter to Tally, and this launcher removes them:

- moto serves requests on threads, and its TransactWriteItems deep-copies the tables before it
  starts and puts the copy back when a condition fails: a write another thread made meanwhile is
  lost. Here requests run one at a time (connections still on threads, with keep-alive), as AWS
  serialises conflicting writes.
- Even alone, a cancelled transaction applies the writes after a failed condition and then swaps in
  the copy: a stream iterator opened before reads the discarded copy, with records of writes that
  never happened, under sequence numbers the live stream reuses. Here every condition is checked
  first, and a transaction whose condition fails is refused before anything is written, as on AWS;
  one that passes is applied without moto's copy of the tables.

Usage: moto-serve.py HOST PORT
"""

import logging
import signal
import sys
import threading
from typing import Any, Iterable

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

_original_transact = DynamoDBBackend.transact_write_items


def _transact_checked_first(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    errors: list[Any] = []
    failed = False
    for item in transact_items:
        try:
            op_type, op = next(iter(item.items()))
            condition = op.get("ConditionExpression")
            if condition is None:
                errors.append((None, None, None))
                continue
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            current = self.get_item(op["TableName"], key)
            check = get_filter_expression(condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues"))
            if check.expr(current):
                errors.append((None, None, None))
            else:
                failed = True
                errors.append(("ConditionalCheckFailed", "The conditional request failed", None))
        except Exception:  # noqa: BLE001 - let moto's own code report anything else
            return _original_transact(self, transact_items)
    if failed:
        raise TransactionCanceledException(errors)
    # Every condition holds and no other request runs meanwhile: apply the writes directly (moto's
    # own path deep-copies every table of the transaction first, a cost that grows with the table).
    for item in transact_items:
        op_type, op = next(iter(item.items()))
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if op_type == "Put":
            self.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            self.delete_item(op["TableName"], op["Key"])
        elif op_type == "Update":
            self.update_item(op["TableName"], op["Key"], update_expression=op["UpdateExpression"], expression_attribute_names=names, expression_attribute_values=values)
    return None


DynamoDBBackend.transact_write_items = _transact_checked_first  # type: ignore[method-assign]


def serialised(app: Any) -> Any:
    """The app behind one lock: connections stay on threads (HTTP/1.1 keep-alive), requests run one at a time."""
    lock = threading.Lock()

    def handle(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    return handle


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    run_simple(host, port, serialised(DomainDispatcherApplication(create_backend_app)), threaded=True)


if __name__ == "__main__":
    main()
