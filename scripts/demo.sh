#!/bin/bash
# The guided tour that `make demo` runs inside a VM: three replicas, one
# disk, a file system on it, and a replica lost in the middle of writing.
set -euo pipefail
. "$QREP_ROOT/selftests/lib/qrep.sh"

DEMO_DIR=/tmp/qrep-demo
SIZE=256M
PORTS=(7801 7802 7803)
NAMES=(a b c)
IO_TIMEOUT=10s

say()
{
	printf '\n\033[1m==> %s\033[0m\n' "$*"
}

run()
{
	printf '    $ %s\n' "$*"
	"$@" 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}

cleanup()
{
	umount /tmp/mnt 2>/dev/null || true
	qrepctl down -c "$DEMO_DIR/r0.conf" >/dev/null 2>&1 || true
	pkill -f 'qrep-target serve' 2>/dev/null || true
	pkill -f 'qrepctl events' 2>/dev/null || true
	rmmod qrep 2>/dev/null || true
}
trap cleanup EXIT

say "This VM runs Debian's $(uname -r) kernel. Loading qrep.ko."
run insmod "$QREP_KO"
need_modules ext4

say "Three replica stores, one per target. Each store is initialised once with the device's UUID and size."
mkdir -p "$DEMO_DIR" /tmp/mnt
uuid=$(qrep-target init --store "$DEMO_DIR/a.store" --size "$SIZE" | tail -n 1)
echo "    device UUID: $uuid"
for n in b c; do
	qrep-target init --store "$DEMO_DIR/$n.store" --size "$SIZE" --uuid "$uuid" >/dev/null
done
ls -ls "$DEMO_DIR" | sed 's/^/    /'

say "Starting three qrep-target daemons (in real life, on three machines)."
# In a subshell, so that killing one later is not reported as our job.
for i in 0 1 2; do
	(setsid qrep-target serve --store "$DEMO_DIR/${NAMES[$i]}.store" \
		--listen "127.0.0.1:${PORTS[$i]}" >"$DEMO_DIR/${NAMES[$i]}.log" 2>&1 &)
done
for p in "${PORTS[@]}"; do
	wait_for 10 bash -c "echo > /dev/tcp/127.0.0.1/$p"
done

say "The resource file names the device and its replicas."
cat >"$DEMO_DIR/r0.conf" <<CONF
resource   r0
device     0
size       $SIZE
uuid       $uuid
mode       mirror
io-timeout $IO_TIMEOUT
replica    a 127.0.0.1:${PORTS[0]}
replica    b 127.0.0.1:${PORTS[1]}
replica    c 127.0.0.1:${PORTS[2]}
CONF
sed 's/^/    /' "$DEMO_DIR/r0.conf"

# Record the kernel's event stream, to show it at the end.
(qrepctl events >"$DEMO_DIR/events" 2>&1 &)

say "qrepctl up connects to every replica, checks each store belongs to this device, and creates /dev/qrep0."
run qrepctl up -c "$DEMO_DIR/r0.conf"
run qrepctl status

say "An ordinary ext4 file system on /dev/qrep0."
run mkfs.ext4 -q /dev/qrep0
run mount /dev/qrep0 /tmp/mnt

say "Writing 40 files of 1 MiB. After the 15th, target b is killed (kill -9): a crashed machine."
for i in $(seq 1 40); do
	head -c 1M /dev/urandom >"/tmp/mnt/file$i"
	if [ "$i" -eq 15 ]; then
		pkill -9 -f "qrep-target serve --store $DEMO_DIR/b.store"
		echo "    (target b killed while writing)"
	fi
done
sync
(cd /tmp/mnt && sha256sum file* >"$DEMO_DIR/sums")
echo "    40 files written and synced without an error reaching the file system."

say "Status: replica b has failed and was dropped; a and c carry on."
run qrepctl status

say "Read everything back through a cold cache: the files are intact."
run umount /tmp/mnt
run mount /dev/qrep0 /tmp/mnt
(cd /tmp/mnt && sha256sum --quiet -c "$DEMO_DIR/sums") && echo "    all 40 checksums match"
run umount /tmp/mnt
run fsck.ext4 -fn /dev/qrep0

say "The kernel's event stream (qrepctl events) saw it happen:"
sed 's/^/    /' "$DEMO_DIR/events"

say "Take the device down, then compare the stores block by block, by their format."
run qrepctl down -c "$DEMO_DIR/r0.conf"
pkill -f 'qrep-target serve' || true
wait_for 10 bash -c "! pgrep -f '[q]rep-target serve'"
run qrep-store compare "$DEMO_DIR/a.store" "$DEMO_DIR/c.store"
echo "    a and c are identical. b stopped when it was killed, so it is behind:"
run qrep-store compare "$DEMO_DIR/a.store" "$DEMO_DIR/b.store" || true

say "Done. Read Documentation/admin-guide/ to run qrep on real machines."
