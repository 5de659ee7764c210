"""The register of the three elder-benefit insurance schemes' policies (三项惠老保险): who is covered by which
scheme on which day. The domains that must know (an elder's file, an admission, a provider's day) read it here;
the insurance business around it (import, reminders, incidents, claims) is ``backend.insurance``."""
