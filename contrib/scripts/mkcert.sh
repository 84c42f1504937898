#!/bin/sh
# mkcert.sh - make a self-signed TLS certificate for localhost, for trying
# newsgate's TLS (NNTPS port, STARTTLS) on one machine.
#
#   sh contrib/scripts/mkcert.sh DIR     -> DIR/cert.pem, DIR/key.pem
#
# Keeps an existing pair (exit 0, prints nothing), so `make run` can call it
# every time. The key is readable by its owner only (mode 0600, DIR 0700).
# The certificate names localhost, 127.0.0.1 and ::1 (subjectAltName, which
# clients check; the CN alone is not enough, RFC 6125) and is valid for
# 825 days. Newsreaders will warn that it is self-signed: accept it once,
# or import DIR/cert.pem as trusted. For a real host, use a certificate
# from a CA (for example Let's Encrypt) and set tls_cert / tls_key in
# newsgate.conf instead.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: mkcert.sh DIR" >&2
	exit 2
fi
dir=$1
cert=$dir/cert.pem
key=$dir/key.pem

if [ -s "$cert" ] && [ -s "$key" ]; then
	exit 0
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "mkcert.sh: the openssl program is needed (apt-get install openssl)" >&2
	exit 1
fi

umask 077
mkdir -p "$dir"
tmpkey=$dir/.key.pem.$$
tmpcert=$dir/.cert.pem.$$
trap 'rm -f "$tmpkey" "$tmpcert"' EXIT INT TERM

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-sha256 -days 825 -nodes \
	-subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	-addext "keyUsage=critical,digitalSignature" \
	-addext "extendedKeyUsage=serverAuth" \
	-keyout "$tmpkey" -out "$tmpcert" 2>/dev/null || {
	echo "mkcert.sh: openssl req failed" >&2
	exit 1
}
chmod 600 "$tmpkey"
chmod 644 "$tmpcert"
mv -f "$tmpkey" "$key"
mv -f "$tmpcert" "$cert"
echo "mkcert.sh: made $cert and $key (self-signed, CN=localhost)"
