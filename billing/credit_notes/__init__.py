"""Credit notes: separately numbered, linked to an invoice and its matter, with a reason code and
an approval by someone other than the requester; client credit applied to a later invoice (SPEC §7).
"""
