"""payment failed notes in portuguese: a failed payment's note kept before was the provider's
English reason ("Your card has insufficient funds."), or told a PIX to try another card

Revision ID: 8800c9a98f10
Revises: 5e0c9b7a2d14
Create Date: 2026-12-06 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8800c9a98f10"
down_revision = "5e0c9b7a2d14"
branch_labels = None
depends_on = None

# notifications.py's TRY_AGAIN as it was when this migration was written, copied so it keeps its
# meaning when the app's text changes.
TRY_AGAIN = {
    "card": "Tente novamente com outro cartão ou com outra forma de pagamento.",
    "pix": "Gere um novo PIX ou escolha outra forma de pagamento.",
    None: "Tente novamente ou escolha outra forma de pagamento.",
}


def upgrade():
    # Kept before the note was written in Portuguese from the payment's code and method: an
    # admin's retry of a failed one, or the sender, would still send what the row kept. It gets
    # what a failure with no code gets now: the reason or the method it was about is not known.
    # A note written since is kept: one ending in a PIX's or the generic advice, or in a card's
    # after a reason (the codes are cards'). The card's advice alone may have been a PIX's
    # (523d5cb), so it too gets the generic one. Only rows that may still be sent change: queued,
    # failed (an admin may retry it), and sent on WhatsApp (Meta may still report it failed);
    # delivered and read ones, and sent e-mails, are what the client was told.
    op.execute(
        sa.text(
            """UPDATE notifications.notifications
            SET parameters = parameters || jsonb_build_object('note', CAST(:advice AS text))
            WHERE template = 'payment_failed'
            AND (status IN ('queued', 'failed') OR (status = 'sent' AND channel = 'whatsapp'))
            AND right(coalesce(parameters->>'note', ''), length(:card) + 1) <> (' ' || :card)
            AND right(coalesce(parameters->>'note', ''), length(:pix)) <> :pix
            AND right(coalesce(parameters->>'note', ''), length(:advice)) <> :advice"""
        ).bindparams(advice=TRY_AGAIN[None], card=TRY_AGAIN["card"], pix=TRY_AGAIN["pix"])
    )


def downgrade():
    # The old notes are gone; nothing to put back.
    pass
