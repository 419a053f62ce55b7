#!/usr/bin/env bash
# Installs what forkbench needs and is missing: npm packages, and Debian packages for the tools
# given as arguments (sipp, tcpdump, kamailio, chromium, fonts, sshd, ip). Without root it names the package.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "forkbench: npm ci"
  npm ci --no-audit --no-fund
elif [ ! -f dist/cli/forkbench.js ]; then
  npm run build
fi

declare -A pkg_of=([sipp]=sip-tester [tcpdump]=tcpdump [kamailio]=kamailio [chromium]=chromium [fonts]=fonts-dejavu-core [sshd]=openssh-server [ip]=iproute2 [nft]=nftables)
missing=()
for tool in "$@"; do
  case "$tool" in
    fonts) [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=("${pkg_of[$tool]}") ;;
    kamailio) command -v kamailio >/dev/null || [ -x /usr/sbin/kamailio ] || missing+=("${pkg_of[$tool]}") ;;
    sshd) [ -x /usr/sbin/sshd ] || missing+=("${pkg_of[$tool]}") ;; # the ssh-host test starts its own sshd
    nft) command -v nft >/dev/null || [ -x /usr/sbin/nft ] || missing+=("${pkg_of[$tool]}") ;; # --loss and its tests
    ip) command -v ip >/dev/null || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=("${pkg_of[$tool]}") ;;
    *) command -v "$tool" >/dev/null || missing+=("${pkg_of[$tool]}") ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "forkbench: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "forkbench: missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
fi
