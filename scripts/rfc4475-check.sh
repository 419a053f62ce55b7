#!/usr/bin/env bash
# Compare proxy/test/rfc4475/*.dat with the archive in RFC 4475 Appendix A.
# Usage: scripts/rfc4475-check.sh path/to/rfc4475.txt [--write]
set -euo pipefail
rfc="${1:?usage: scripts/rfc4475-check.sh path/to/rfc4475.txt [--write]}"
dest="$(cd "$(dirname "$0")/.." && pwd)/proxy/test/rfc4475"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The RFC's recovery rule: single-token lines between the markers (the second pair; the first is
# inside the Perl example), page headers and footers dropped.
awk '/-- BEGIN MESSAGE ARCHIVE --/{n++} n==2' "$rfc" | sed '/-- END MESSAGE ARCHIVE --/q' \
  | grep -E '^[[:space:]]*[^[:space:]]+[[:space:]]*$' | grep -v 'MESSAGE ARCHIVE' | tr -d ' \t' > "$work/a.b64"
base64 -d "$work/a.b64" | tar xz -C "$work"
status=0
for f in "$dest"/*.dat; do
  n="$(basename "$f")"
  got="$(find "$work" -name "$n" | head -1)"
  if [[ -z "$got" ]]; then echo "missing in archive: $n"; status=1
  elif ! cmp -s "$got" "$f"; then echo "differs: $n"; status=1; [[ "${2:-}" == --write ]] && cp "$got" "$f"
  fi
done
[[ $status -eq 0 ]] && echo "all $(ls "$dest"/*.dat | wc -l) messages match the RFC archive"
exit $status
