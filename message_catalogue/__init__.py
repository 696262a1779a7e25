"""The message catalogue: everything a customer reads, in English, Swedish, Norwegian and Chinese.

The texts themselves are the Rasa domain's responses (domain/*.yml), one variation per language
(a condition on the `language` slot; the unconditioned variation is English), so Rasa renders
them for the bot's own replies. This package renders the same responses for everything outside
Rasa's NLG, and builds their parameters:

- `message_catalogue.messages`: load the responses, render one by name, language and parameters;
- `message_catalogue.formatting`: dates, money and lists for a language (Babel), and an order's
  status as a response name and its parameters.
"""
