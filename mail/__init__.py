"""The e-mail channel: customers write to support@, the same assistant answers by mail, or a
colleague does through the Slack handoff, in the same mail thread.

- `mail.receiver` (`python -m mail`): the SMTP receiver on loopback; stores every mail, skips
  auto-replies and bounces, limits senders, and hands each mail to the Rasa server;
- `mail.channel`: the Rasa input channel `email` (credentials.yml) with the receiver's internal
  webhook and mail as the output channel (agent replies through trigger_intent included);
- `mail.payload`: the mail as the receiver posts it to the channel (built and read there);
- `mail.inbound`: what happens to one mail in the Rasa server (thread, turn, reply or person);
- `mail.escalation`: handing a mail to a person through the handoff package, as every channel;
- `mail.output`: the output channel that collects a turn's messages, and the case a reply names;
- `mail.parsing`, `mail.cleaning`: reading a mail (headers, charsets, attachments, quotes and
  signatures); `mail.decide`: answered or not; `mail.compose`, `mail.smtp`: the reply;
- `mail.threads`: mail threads as conversations; `mail.spool`: the stored mails;
- `mail.send_test`: send a test mail to the receiver and show the reply.

Importing this package imports nothing heavy.
"""
