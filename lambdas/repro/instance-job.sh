#!/bin/sh
# Reproducibility check, run as user data on an instance booted from a FreeBSD builder AMI: rebuild the image this
# AMI was made from at the same revision, compare it with the AMI's own root snapshot (attached by the workflow as a
# second disk), upload what diffoscope says to the report bucket, and power off (the instance then terminates).
#
# The launch step puts the parameters above this text as exported assignments: REPRO_BUCKET, REPRO_PREFIX,
# REPRO_ROLE_ID, REPRO_REGION, REPRO_BRANCH, REPRO_REVISION, REPRO_FLAVOUR, REPRO_FS, REPRO_BUDGET_MINUTES,
# REPRO_DIFF_MINUTES, REPRO_SOURCE_URL. Nothing here holds credentials: uploads use the instance profile, which may
# only put objects into a folder named by the instance's IAM user id, <role id>:<instance id>, under the prefix.

set -u
: "${REPRO_BUCKET:?}" "${REPRO_PREFIX:?}" "${REPRO_ROLE_ID:?}" "${REPRO_REGION:?}" "${REPRO_BRANCH:?}" "${REPRO_REVISION:?}"
: "${REPRO_FLAVOUR:?}" "${REPRO_FS:?}" "${REPRO_BUDGET_MINUTES:?}" "${REPRO_DIFF_MINUTES:?}" "${REPRO_SOURCE_URL:?}"

# configinit runs user data while the system boots: go on in the background so the boot finishes.
if [ "${REPRO_DETACHED:-0}" != 1 ]; then
	cp "$0" /var/tmp/repro-job.sh
	REPRO_DETACHED=1 daemon -f /bin/sh /var/tmp/repro-job.sh
	exit 0
fi

PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin
export PATH ASSUME_ALWAYS_YES=yes
START=$(date +%s)
WORK=/build
OUT=/var/tmp/repro-out
LOG=$OUT/build.log
mkdir -p "$OUT"
: >"$LOG"
FETCH_SECONDS=0
BUILD_SECONDS=0
DIFF_SECONDS=0
BUILT_BYTES=0
BUILT_SHA=
REF_BYTES=0
REF_SHA=

now() { date +%s; }

imds() {
	# $1: a path under meta-data/. IMDSv2, as the launch requires: a session token, then the GET. nc is in the base
	# system, and fetch(1) cannot send a PUT.
	token=$(printf 'PUT /latest/api/token HTTP/1.0\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n' |
		nc -w 5 169.254.169.254 80 | tr -d '\r' | sed '1,/^$/d')
	printf 'GET /latest/meta-data/%s HTTP/1.0\r\nX-aws-ec2-metadata-token: %s\r\n\r\n' "$1" "$token" |
		nc -w 5 169.254.169.254 80 | tr -d '\r' | sed '1,/^$/d'
}

# The one folder the instance role lets this instance write to; without it nothing can be reported.
INSTANCE_ID=
for attempt in 1 2 3 4 5; do
	INSTANCE_ID=$(imds instance-id)
	case $INSTANCE_ID in i-[0-9a-f]*) break ;; *) INSTANCE_ID= ;; esac
	sleep "$attempt"
done
if [ -z "$INSTANCE_ID" ]; then
	echo 'repro: the instance metadata service did not give the instance id; nothing can be uploaded' >/dev/console
	shutdown -p now
	exit 1
fi
FOLDER=$REPRO_PREFIX$REPRO_ROLE_ID:$INSTANCE_ID/
remaining() { echo $((REPRO_BUDGET_MINUTES * 60 - ($(now) - START))); }
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >>"$LOG"; }
json_string() { printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

upload() {
	# $1: local file, $2: name in the instance's folder
	[ -f "$1" ] || return 0
	aws --region "$REPRO_REGION" s3 cp --only-show-errors "$1" "s3://$REPRO_BUCKET/$FOLDER$2" >>"$LOG" 2>&1 ||
		log "upload of $2 failed"
}

differences_json() {
	# Differing files as diffoscope's JSON names them, with their sizes on both sides (at most 50).
	first=1
	printf '['
	if [ -s "$OUT/diffoscope.json" ]; then
		grep -o '"source2": "[^"]*"' "$OUT/diffoscope.json" | sed 's/^"source2": "//; s/"$//' |
			sed -n "s|^$WORK/mnt/ref/||p" | head -n 200 | while IFS= read -r path; do
			[ -f "$WORK/mnt/ref/$path" ] || continue
			built=$(wc -c <"$WORK/mnt/built/$path" 2>/dev/null || echo 0)
			ref=$(wc -c <"$WORK/mnt/ref/$path")
			[ "$first" = 1 ] || printf ','
			first=0
			printf '{"path":%s,"builtBytes":%d,"referenceBytes":%d}' "$(json_string "$path")" "$built" "$ref"
		done | head -c 20000
	fi
	printf ']'
}

finish() {
	# $1: status, $2: stage, $3: message. Writes the summary, uploads everything, powers off.
	log "finished: $1 at $2: $3"
	{
		printf '{"version":1,"status":%s,"stage":%s,"message":%s,' \
			"$(json_string "$1")" "$(json_string "$2")" "$(json_string "$3")"
		printf '"revision":%s,"flavour":%s,"fs":%s,' "$(json_string "$REPRO_BRANCH@$REPRO_REVISION")" \
			"$(json_string "$REPRO_FLAVOUR")" "$(json_string "$REPRO_FS")"
		printf '"tools":{"uname":%s,"freebsd":%s,"git":%s,"diffoscope":%s,"aws":%s},' \
			"$(json_string "$(uname -a)")" "$(json_string "$(freebsd-version -ku 2>/dev/null | tr '\n' ' ')")" \
			"$(json_string "$(git --version 2>/dev/null)")" "$(json_string "$(diffoscope --version 2>/dev/null)")" \
			"$(json_string "$(aws --version 2>&1 | head -n 1)")"
		printf '"durations":{"fetchSeconds":%d,"buildSeconds":%d,"diffSeconds":%d,"totalSeconds":%d},' \
			"$FETCH_SECONDS" "$BUILD_SECONDS" "$DIFF_SECONDS" "$(($(now) - START))"
		printf '"images":{"built":{"bytes":%d,"sha256":%s},"reference":{"bytes":%d,"sha256":%s}},' \
			"$BUILT_BYTES" "$(json_string "$BUILT_SHA")" "$REF_BYTES" "$(json_string "$REF_SHA")"
		printf '"differences":%s}\n' "$(differences_json)"
	} >"$OUT/summary.json.tmp"
	tail -n 300 "$LOG" >"$OUT/build-log-tail.txt"
	upload "$OUT/tools.txt" tools.txt
	upload "$OUT/build-log-tail.txt" build-log-tail.txt
	upload "$OUT/diffoscope.txt" diffoscope.txt
	upload "$OUT/diffoscope.json" diffoscope.json
	upload "$OUT/raw-diffoscope.txt" raw-diffoscope.txt
	# The summary goes last: the workflow reads the others once it sees it.
	mv "$OUT/summary.json.tmp" "$OUT/summary.json"
	upload "$OUT/summary.json" summary.json
	shutdown -p now
	exit 0
}

# Disks present at boot: the root disk and the blank scratch volume. The AMI's own root volume is attached later.
BOOT_DISKS=$(sysctl -n kern.disks)
SCRATCH=
for disk in $BOOT_DISKS; do
	case $disk in md*) continue ;; esac
	gpart show "$disk" >/dev/null 2>&1 || SCRATCH=$disk
done
[ -n "$SCRATCH" ] || finish error setup "no blank scratch disk among: $BOOT_DISKS"
log "scratch disk $SCRATCH"
newfs -U "/dev/$SCRATCH" >>"$LOG" 2>&1 || finish error setup "newfs of $SCRATCH failed"
if ! { mkdir -p "$WORK" && mount "/dev/$SCRATCH" "$WORK"; }; then
	finish error setup "mount of $SCRATCH failed"
fi

log "installing git and diffoscope"
pkg install -y git-lite sysutils/py-diffoscope >>"$LOG" 2>&1 || finish error setup 'pkg install failed'
{
	uname -a
	freebsd-version -ku
	git --version
	diffoscope --version
	aws --version 2>&1
	make -V MAKE_VERSION
} >"$OUT/tools.txt" 2>&1

log "cloning $REPRO_SOURCE_URL $REPRO_BRANCH at $REPRO_REVISION"
step=$(now)
if ! { timeout "$(remaining)" git clone --quiet --no-checkout --single-branch --branch "$REPRO_BRANCH" \
	"$REPRO_SOURCE_URL" "$WORK/src" >>"$LOG" 2>&1 &&
	git -C "$WORK/src" -c advice.detachedHead=false checkout --quiet "$REPRO_REVISION" >>"$LOG" 2>&1; }; then
	finish error fetch "could not check out $REPRO_BRANCH@$REPRO_REVISION from $REPRO_SOURCE_URL"
fi
FETCH_SECONDS=$(($(now) - step))

log "building world, kernel and the ec2-$REPRO_FLAVOUR $REPRO_FS image"
step=$(now)
MAKEOBJDIRPREFIX=$WORK/obj
export MAKEOBJDIRPREFIX
CLOUDWARE_NAME=EC2-$(echo "$REPRO_FLAVOUR" | tr '[:lower:]' '[:upper:]')
timeout "$(remaining)" make -C "$WORK/src" -j "$(sysctl -n hw.ncpu)" buildworld buildkernel >>"$LOG" 2>&1
status=$?
if [ "$status" -eq 0 ]; then
	timeout "$(remaining)" make -C "$WORK/src/release" WITH_CLOUDWARE=yes CLOUDWARE="$CLOUDWARE_NAME" \
		"cw-ec2-$REPRO_FLAVOUR-$REPRO_FS-raw" >>"$LOG" 2>&1
	status=$?
fi
BUILD_SECONDS=$(($(now) - step))
[ "$status" -eq 124 ] && finish timeout build "the time budget ran out while building"
[ "$status" -eq 0 ] || finish build-failed build "make exited with $status"
BUILT=$(find "$MAKEOBJDIRPREFIX" -name "ec2-$REPRO_FLAVOUR.$REPRO_FS.raw" -type f | head -n 1)
[ -n "$BUILT" ] || finish build-failed build "no ec2-$REPRO_FLAVOUR.$REPRO_FS.raw was made"
BUILT_BYTES=$(stat -f %z "$BUILT")

# The AMI's root snapshot, attached by the workflow as a new disk once the instance ran.
REF=
waited=0
while [ -z "$REF" ] && [ "$waited" -lt 1800 ]; do
	for disk in $(sysctl -n kern.disks); do
		case " $BOOT_DISKS " in *" $disk "*) ;; *) REF=$disk ;; esac
	done
	[ -n "$REF" ] || { sleep 10; waited=$((waited + 10)); }
done
[ -n "$REF" ] || finish error compare 'the volume made from the AMI snapshot was never attached'
log "reference disk $REF; built image $BUILT ($BUILT_BYTES bytes)"
# The snapshot is the uploaded image padded to whole GiB: compare as many bytes as were built.
dd if="/dev/$REF" of="$WORK/reference.raw" bs=1m count=$(((BUILT_BYTES + 1048575) / 1048576)) >>"$LOG" 2>&1
truncate -s "$BUILT_BYTES" "$WORK/reference.raw"
REF_BYTES=$BUILT_BYTES
BUILT_SHA=$(sha256 -q "$BUILT")
REF_SHA=$(sha256 -q "$WORK/reference.raw")
[ "$BUILT_SHA" = "$REF_SHA" ] && finish reproducible compare 'the built image is byte for byte the AMI snapshot'

# Different bytes: compare the file systems inside, read-only, so diffoscope names files rather than offsets.
step=$(now)
mkdir -p "$WORK/mnt/built" "$WORK/mnt/ref"
BUILT_MD=$(mdconfig -a -t vnode -o readonly -f "$BUILT")
REF_MD=$(mdconfig -a -t vnode -o readonly -f "$WORK/reference.raw")
mount_image() {
	# $1: md device, $2: mount point, $3: pool name for ZFS
	part=$(gpart show -p "$1" | awk '$4 == "freebsd-ufs" || $4 == "freebsd-zfs" { print $3; exit }')
	[ -n "$part" ] || return 1
	if [ "$REPRO_FS" = zfs ] && [ "$REPRO_FLAVOUR" != builder ]; then
		zpool import -f -o readonly=on -R "$2" -d "/dev/$part" zroot "$3"
	else
		mount -o ro "/dev/$part" "$2"
	fi
}
if ! { mount_image "$BUILT_MD" "$WORK/mnt/built" reprobuilt >>"$LOG" 2>&1 &&
	mount_image "$REF_MD" "$WORK/mnt/ref" reproref >>"$LOG" 2>&1; }; then
	finish error compare 'could not mount the file systems of both images'
fi
diff_budget=$((REPRO_DIFF_MINUTES * 60))
[ "$diff_budget" -lt "$(remaining)" ] || diff_budget=$(remaining)
timeout "$diff_budget" diffoscope --exclude-directory-metadata=yes --max-report-size 104857600 \
	--text "$OUT/diffoscope.txt" --json "$OUT/diffoscope.json" "$WORK/mnt/built" "$WORK/mnt/ref" >>"$LOG" 2>&1
status=$?
DIFF_SECONDS=$(($(now) - step))
[ "$status" -eq 124 ] && finish timeout compare "diffoscope did not finish in $diff_budget s"
[ "$status" -le 1 ] || finish error compare "diffoscope exited with $status"
[ "$status" -eq 0 ] && finish differs compare 'the images differ, but no file in them does (metadata or layout)'
finish differs compare 'files differ'
