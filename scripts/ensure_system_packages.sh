#!/usr/bin/env bash
# Debian packages some features need, installed when absent:
#   fonts-wqy-zenhei            Chinese text on the printable Jing'an code posters (make run, make test)
#   chromium + chromium-driver  the citizen H5 browser test, only with the argument "browser" (make test)
#   wrk                         the HTTP load generator of benchmarks/api_bench.py, only with "bench" (make bench-api)
# Never fails: without them, posters answer 503 cjk_font_missing and the browser test is skipped.
set -u
want=()
if [ "${1:-}" = "browser" ]; then
  [ -x /usr/bin/chromium ] || want+=(chromium)
  [ -x /usr/bin/chromedriver ] || want+=(chromium-driver)
fi
if [ "${1:-}" = "bench" ]; then
  command -v wrk >/dev/null 2>&1 || want+=(wrk)
fi
font=""
for f in /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc; do
  [ -e "$f" ] && font="$f"
done
[ -n "$font" ] || want+=(fonts-wqy-zenhei)
[ ${#want[@]} -eq 0 ] && { echo "system packages: present"; exit 0; }
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages: missing ${want[*]} (no apt-get here; install them yourself)"; exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
echo "system packages: installing ${want[*]}"
$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${want[@]}" \
  || echo "system packages: could not install ${want[*]}"
exit 0
