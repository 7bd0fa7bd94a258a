#!/usr/bin/env bash
# claw.backup on a real named volume: snapshot it, let a "new release" migrate the
# files in its Mountpoint (written from the host, as root: the test images have no
# shell), restore it, and compare the trees; then the refusals (no such volume, a
# volume with mount options) and --dry-run.
source "$(dirname "$0")/lib.sh"
OWN='claw-it-bvol'

VOL=claw-it-bvol
OPTS_VOL=claw-it-bvol-opts
STORE="$T/store"

teardown() {
  cleanup_containers claw-it-bvol-user
  docker volume rm "$VOL" "$OPTS_VOL" >/dev/null 2>&1 || true
}
teardown
trap teardown EXIT

docker volume create "$VOL" >/dev/null
MP=$(docker volume inspect -f '{{.Mountpoint}}' "$VOL")
[ -d "$MP" ] || { echo "volume $VOL has no mountpoint on this host: $MP" >&2; exit 1; }

# What a release leaves in its state volume: nested and empty directories, a symlink,
# owners other than root, modes.
mkdir -p "$MP/agents/main/sessions" "$MP/empty" "$MP/canvas"
printf '{"version":"2026.9.1"}\n' >"$MP/openclaw.json"
printf 'one\n' >"$MP/agents/main/sessions/s1.jsonl"
printf 'binary\0data' >"$MP/canvas/blob"
ln -s agents/main "$MP/current"
chmod 600 "$MP/openclaw.json"
chown -R 1000:1000 "$MP/agents"
chown 1000:1000 "$MP"
chmod 750 "$MP"

# Everything below the mountpoint a restore must bring back, with contents.
listing() {
  (cd "$1" && find . -mindepth 1 -printf '%y %m %U:%G %T@ [%l] %p\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

POL=$(policy backup_volume.lua '
local backup = require "claw.backup"
local json = require "claw.json"
local action, name, which = arg[1], arg[2], arg[3]
local opts = { dir = os.getenv("STORE"), which = tonumber(which) or which, keep = 3 }
local r, err
if action == "save" then r, err = backup.save_volume(name, opts)
elseif action == "save-path" then r, err = backup.save("volume:" .. name, opts)
elseif action == "restore" then r, err = backup.restore_volume(name, opts)
elseif action == "list" then r, err = backup.list("volume:" .. name, opts)
elseif action == "dir" then r, err = backup.volume_dir(name)
elseif action == "newest" then
  r, err = backup.list("volume:" .. name, opts)
  if r then print(r[1].id .. " " .. r[1].path) return end
end
if r then print(json.encode(r)) else print("ERR " .. err.code .. ": " .. err.message) end')
export STORE
field() { sed -n 's/.*"'"$1"'":\("[^"]*"\|[0-9.-]*\).*/\1/p' <<<"$out" | tr -d '"'; }

before=$(listing "$MP")

check "save_volume snapshots the volume's files into the store"
claw run "$POL" save "$VOL"
expect_rc 0
[ "$(field kind)" = dir ] || fail "kind: $out"
[ "$(field source)" = "volume:$VOL" ] || fail "source: $out"
[ "$(field files)" = 3 ] || fail "files: $out"
snap=$(field path)
case "$snap" in "$STORE/volume-$VOL-"*/2*) ;; *) fail "path: $snap" ;; esac
[ "$(listing "$snap/tree")" = "$before" ] || fail "the snapshot's tree differs from the volume"
(cd "$snap" && sha256sum --quiet --strict -c SHA256SUMS) || fail "sha256sum -c in the snapshot"
(cd "$(dirname "$snap")" && sha256sum --quiet --strict -c SHA256SUMS) || fail "sha256sum -c in the folder"
id=$(field id)
done_check

# The new release migrates its state: changes a file, adds some, removes others.
printf '{"version":"2026.10.0","migrated":true}\n' >"$MP/openclaw.json"
printf 'v2 schema\n' >"$MP/agents/main/index.db"
mkdir "$MP/plugins" && printf 'p' >"$MP/plugins/x.js"
rm -rf "$MP/empty" "$MP/canvas/blob"
chown 0:0 "$MP/agents/main/sessions/s1.jsonl"
chmod 770 "$MP"
migrated=$(listing "$MP")

check "--dry-run restore_volume reads and verifies, changes nothing"
claw --dry-run run "$POL" restore "$VOL"
expect_rc 0
[ "$(field id)" = "$id" ] || fail "id: $out"
expect_err_has "dry-run: would restore volume:$VOL from $snap"
[ "$(listing "$MP")" = "$migrated" ] || fail "the volume changed"
done_check

check "restore_volume puts the snapshot back exactly, into a volume a container uses"
docker create --name claw-it-bvol-user -v "$VOL:/home/node/.openclaw" $GW:v1 >/dev/null
claw run "$POL" restore "$VOL"
expect_rc 0
[ "$(field id)" = "$id" ] || fail "id: $out"
[ "$(listing "$MP")" = "$before" ] || fail "restored tree differs:
$(diff <(echo "$before") <(listing "$MP"))"
[ "$(stat -c '%a %u:%g' "$MP")" = "770 1000:1000" ] || fail "the mountpoint's own mode/owner: $(stat -c '%a %u:%g' "$MP")"
[ "$(docker volume inspect -f '{{.Mountpoint}}' "$VOL")" = "$MP" ] || fail "Docker lost the volume"
left=$(ls -A "$(dirname "$MP")")
[ "$left" = _data ] || fail "left beside the mountpoint: $left"
docker start claw-it-bvol-user >/dev/null || fail "the container does not start on the restored volume"
done_check

check "list volume:NAME and save(\"volume:NAME\") with keep"
claw run "$POL" save-path "$VOL"
expect_rc 0
claw run "$POL" save "$VOL"
claw run "$POL" save "$VOL"
claw run "$POL" list "$VOL"
expect_rc 0
n=$(grep -o '"id":' <<<"$out" | wc -l)
[ "$n" = 3 ] || fail "list has $n snapshots, want 3 (keep=3): $out"
grep -qF "\"id\":\"$id\"" <<<"$out" && fail "the oldest snapshot was not pruned"
[ -e "$snap" ] && fail "pruned snapshot still on disk: $snap"
done_check

check "restore by index"
printf 'later\n' >"$MP/later"
claw run "$POL" restore "$VOL" 2
expect_rc 0
[ -e "$MP/later" ] && fail "a file added after the snapshot survived"
[ "$(listing "$MP")" = "$before" ] || fail "restored tree differs"
done_check

check "a corrupt snapshot is refused and the volume is left alone"
claw run "$POL" newest "$VOL"
read -r newest_id newest <<<"$out"
printf 'rot\n' >"$newest/tree/agents/main/sessions/s1.jsonl"
printf 'after\n' >"$MP/after"
now=$(listing "$MP")
claw run "$POL" restore "$VOL"
expect_out "ERR checksum: backup $newest_id of volume:$VOL is corrupt: sha256 mismatch in agents/main/sessions/s1.jsonl"
[ "$(listing "$MP")" = "$now" ] || fail "the volume changed"
rm -f "$MP/after"
done_check

check "no such volume; a volume with mount options is refused (by volume_dir too)"
claw run "$POL" dir "$VOL"
expect_out "\"$MP\""
claw run "$POL" save claw-it-nope
expect_out "ERR not_found: no such volume: claw-it-nope"
claw run "$POL" dir claw-it-nope
expect_out "ERR not_found: no such volume: claw-it-nope"
docker volume create --opt type=tmpfs --opt device=tmpfs "$OPTS_VOL" >/dev/null
claw run "$POL" save "$OPTS_VOL"
expect_out "ERR invalid: volume $OPTS_VOL has mount options (device, type=tmpfs): its files are in its mountpoint only while a container uses it, so it cannot be backed up"
claw run "$POL" dir "$OPTS_VOL"
expect_out "ERR invalid: volume $OPTS_VOL has mount options (device, type=tmpfs): its files are in its mountpoint only while a container uses it, so it cannot be backed up"
claw run "$POL" restore "$VOL" pre-update
expect_out "ERR not_found: no backup \"pre-update\" of volume:$VOL: a directory or volume has none; use \"latest\""
done_check

check "docker volume rm works after restores"
cleanup_containers claw-it-bvol-user
docker volume rm "$VOL" >/dev/null || fail "docker volume rm $VOL"
docker volume inspect "$VOL" >/dev/null 2>&1 && fail "volume still there"
done_check

finish
