"""Writes the fuzzing seed corpus from the repository's captured samples and fixtures (nothing binary is committed)."""
import base64, os, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
out = Path(sys.argv[1])
samples = root / "Tests/Fixtures/samples"
hostile = root / "Tests/Fixtures/hostile"


def put(harness, name, data):
    d = out / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + name)).write_bytes(data if isinstance(data, bytes) else data.encode())


def token(text, kind):
    m = re.search(r'<(?:\w+:)?BinarySecurityToken[^>]*' + kind + r'[^>]*>([^<]+)<', text)
    if not m:
        return None
    raw = base64.b64decode(re.sub(r"\s+", "", m.group(1)) + "===")
    if raw[:1] != b"\x30":  # documented requests base64-encode the token twice
        try:
            raw = base64.b64decode(raw + b"===")
        except Exception:
            return None
    return raw if raw[:1] == b"\x30" else None


for p in sorted(samples.glob("*.xml")) + sorted(hostile.glob("*.xml")):
    data = p.read_bytes()
    put("syncml" if "syncml" in p.name else "soap", p.name, data)
    text = data.decode("utf-8", "replace")
    csr = token(text, "PKCS10")
    if csr:
        put("csr", p.name + ".der", csr)
    p7 = token(text, "PKCS7")
    if p7:
        put("pkcs7", p.name + ".der", p7)

cases = root / "Tests/Fixtures/explain-cases.tsv"
if cases.exists():
    for i, line in enumerate(cases.read_text(encoding="utf-8").splitlines()):
        if line.strip() and not line.startswith("#"):
            put("explain", "case-%03d" % i, line.split("\t")[0].replace("\\n", "\n"))
for i, text in enumerate([
    "0x80180014", "Error 0x801c03ea", "-2145910774", "2149056522", "80180018 There was an error with your license.",
    "<Event><System><EventID>52</EventID></System><EventData><Data Name='ErrorCode'>0x80180003</Data></EventData></Event>",
    "| Device State |\n AzureAdJoined : NO\n DomainJoined : YES\n DeviceAuthStatus : FAILED. Error: 0x801c0003\n",
    '{"errorCode": "0x80070774", "message": "Assign user"}',
]):
    put("explain", "text-%02d" % i, text)

for i, q in enumerate([
    "userPrincipalName eq 'alice@winmdm.test'\nid,displayName\n10\n0",
    "accountEnabled eq true and count eq 3\n\n1\n4",
    "displayName eq 'O''Brien'\n@odata.type\n999\n",
    "\n\n\n99999999",
]):
    put("odata", "query-%02d" % i, q)
print("seeds written to", out)
