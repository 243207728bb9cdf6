"""Messages as staff mail clients write them, made with Python's email package (an
implementation independent of the hub's parser): python3 staff_client_messages.py DIR
writes inline.eml, forward.eml, eightbit.eml and latin1.eml into DIR (S/MIME signed
messages are made by openssl in the test itself)."""
import sys, email.policy
from email.message import EmailMessage
from email.headerregistry import Address
staff, alice = "case.worker@example.gov.uk", "alice@partner.example"
def base(subject, mid):
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = staff; m["To"] = alice; m["Subject"] = subject; m["Message-ID"] = f"<{mid}@example.gov.uk>"
    return m
out = sys.argv[1]
# 1. HTML with an inline image (multipart/related) and a text alternative
m = base("[secure] Photo of the ramp", "inline")
m.set_content("See the photo of the ramp.")
m.add_alternative('<p>See the photo:</p><img src="cid:ramp">', subtype="html")
m.get_payload()[1].add_related(bytes(range(256))*40, "image", "png", cid="<ramp>", filename="ramp.png")
open(f"{out}/inline.eml","wb").write(m.as_bytes())
# 2. a forwarded message kept as an attachment
inner = base("Original from the GP", "inner"); inner.set_content("The GP's letter.")
m = base("[secure] Fwd: Original from the GP", "fwd")
m.set_content("Forwarding the GP's letter.")
m.add_attachment(inner)
open(f"{out}/forward.eml","wb").write(m.as_bytes())
# 3. 8-bit UTF-8 body, an encoded-word subject, a long non-ASCII file name (RFC 2231)
m = base("[secure] Überweisung für Frau Jönsson", "eightbit")
m.set_content("Grüße aus dem Rathaus — der Plan ist beigefügt.", cte="8bit")
m.add_attachment(b"%PDF-1.4 plan\n"*500, maintype="application", subtype="pdf",
                 filename="Pflegeplan für Frau Jönsson – Überprüfung März 2026 (endgültige Fassung).pdf")
open(f"{out}/eightbit.eml","wb").write(m.as_bytes())
# 4. ISO-8859-1 quoted-printable text
m = base("[secure] Caf\u00e9 meeting", "latin1")
m.set_content("Rendez-vous au caf\u00e9 \u00e0 10 h.", charset="iso-8859-1", cte="quoted-printable")
open(f"{out}/latin1.eml","wb").write(m.as_bytes())
