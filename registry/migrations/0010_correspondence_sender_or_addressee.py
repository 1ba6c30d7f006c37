# An incoming letter has a sender and no addressee, an outgoing one the reverse (after 0009).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0009_outgoing_letters_addressee'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='correspondence',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('addressee_address', ''), ('addressee_email', ''), ('addressee_identifier', ''), ('addressee_kind', ''), ('addressee_name', ''), ('direction', 'incoming'), ('addressee_account__isnull', True), models.Q(('sender_name', ''), _negated=True)), models.Q(('direction', 'outgoing'), ('sender_address', ''), ('sender_email', ''), ('sender_identifier', ''), ('sender_kind', ''), ('sender_name', ''), ('sender_account__isnull', True), models.Q(('addressee_name', ''), _negated=True)), _connector='OR'), name='correspondence_sender_or_addressee'),
        ),
    ]
