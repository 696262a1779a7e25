"""`python -m mail`: the SMTP receiver of the e-mail channel (mail/receiver.py)."""

import sys

from mail.receiver import main

sys.exit(main())
