#!/bin/sh
# test stub: record the call, answer from $EDGE_STATE
echo "$(basename "$0") $*" >> "$EDGE_STATE/calls"
S=$EDGE_STATE
case $(basename "$0") in
  dpkg-query) for p; do :; done; grep -qx "$p" "$S/installed" 2>/dev/null && echo "install ok installed" && exit 0
              exit 1 ;;
  apt-get)    [ "$1" = install ] && for p in "$@"; do echo "$p" >> "$S/installed"; done; exit 0 ;;
  systemctl)  exit 0 ;;
  getent)     grep "^$2:" "$S/$1" 2>/dev/null || exit 2 ;;
  groupadd)   for g; do :; done; echo "$g:x:$(cat "$S/next_gid_$g" 2>/dev/null || echo 64199):" >> "$S/group" ;;
  useradd)    for u; do :; done; echo "$u:x:__NCPA_UID__:__NCPA_GID__::/var/lib/ncpa:/usr/sbin/nologin" >> "$S/passwd" ;;
  usermod)    g=$2; u=$3; sed -i "s/^\($g:x:[0-9]*:\)\(.*\)$/\1\2,$u/; s/:,/:/" "$S/group" ;;
  id)         case "$*" in
                "ncpa") grep -q "^ncpa:" "$S/passwd" 2>/dev/null || exit 1; echo "uid=__NCPA_UID__" ;;
                "-u ncpa") grep -q "^ncpa:" "$S/passwd" && echo __NCPA_UID__ ;;
                "-nG ncpa") echo "ncpa $(grep ":.*ncpa" "$S/group" | grep -v '^ncpa:' | cut -d: -f1 | tr '\n' ' ')" ;;
                *) exec /usr/bin/id "$@" ;;
              esac ;;
esac
