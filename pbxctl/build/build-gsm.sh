#!/bin/sh
# Builds a GSM channel driver against the Asterisk tree build-asterisk.sh just compiled, in the same root, into a
# package of its own that depends on exactly that Asterisk package. Run by pbxctl/build/asterisk.py (systemd-nspawn):
# /gsm holds the driver's source (a directory or a .tar.gz/.tar.xz the site names), /recipe/patches/<driver> the
# fixes pbxctl applies to it, /out the .debs.
# Environment: DRIVER (chan_quectel; chan_dongle is not built yet), VERSION (Asterisk's), PKG_VERSION (Asterisk's package), GSM_PKG_VERSION.
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

src="/build/asterisk-$VERSION"
[ -f "$src/include/asterisk/buildopts.h" ] || { echo "no built Asterisk tree at $src" >&2; exit 1; }
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
arch=$(dpkg --print-architecture)
work="/build/gsm-$DRIVER"
rm -rf "$work" && mkdir -p "$work/src"
case "$(ls /gsm)" in
  *.tar.gz|*.tgz) tar -xzf /gsm/* -C "$work/src" ;;
  *.tar.xz) tar -xJf /gsm/* -C "$work/src" ;;
  *) cp -a /gsm/. "$work/src/" ;;
esac
# a tarball usually holds one top folder: build in it
top="$work/src"
if [ "$(ls -A "$top" | wc -l)" = 1 ] && [ -d "$top/$(ls -A "$top")" ]; then top="$top/$(ls -A "$top")"; fi
# pbxctl's fixes to the driver (patches/<driver>/*.patch, each saying why), before anything is configured
sh /recipe/apply-patches.sh "$top" "/recipe/patches/$DRIVER"
# the version number the driver's sources test (major*10000 + minor*100 + patch)
astnum=$(echo "$VERSION" | awk -F. '{ printf "%d%02d%02d", $1, $2, $3 }')
pkg="$work/pkg"

case "$DRIVER" in
  chan_quectel)
    # CMake, ALSA (the modules' USB audio), SQLite (its SMS store); headers come from the Asterisk tree above
    apt-get install -y -q --no-install-recommends cmake libasound2-dev libsqlite3-dev
    cmake -S "$top" -B "$work/out" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
      -DAST_HEADER_DIR="$src/include" -DASTERISK_VERSION_NUM="$astnum" -DBUILD_TESTING=OFF
    cmake --build "$work/out" -j"$(nproc)" --verbose
    DESTDIR="$pkg" cmake --install "$work/out" --component chan-quectel
    package=asterisk-chan-quectel
    description="Asterisk channel driver for Quectel and SIMCom GSM modules (chan_quectel)"
    ;;
  *) echo "unknown GSM driver $DRIVER" >&2; exit 1 ;;
esac

# pbxctl writes the driver's configuration itself: the sample would be a conffile fighting the role's file
rm -rf "$pkg/etc"
module="$pkg/usr/lib/$multiarch/asterisk/modules/$DRIVER.so"
[ -f "$module" ] || { echo "the build left no $module" >&2; find "$pkg" -type f >&2; exit 1; }
strip --strip-unneeded "$module"

mkdir -p "$pkg/DEBIAN" "$work/debian"
cd "$work"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$package" "$package" > debian/control
shlibs=$(dpkg-shlibdeps -O "$module" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
# built against this Asterisk tree's headers and options: any other Asterisk build may not load it
cat > "$pkg/DEBIAN/control" <<EOF
Package: $package
Version: $GSM_PKG_VERSION
Architecture: $arch
Maintainer: pbxctl <root@localhost>
Depends: asterisk (= $PKG_VERSION)${shlibs:+, $shlibs}
Section: comm
Priority: optional
Description: $description, built by pbxctl against Asterisk $VERSION
EOF
dpkg-deb --root-owner-group -Zxz --build "$pkg" "/out/${package}_${GSM_PKG_VERSION#*:}_${arch}.deb"
echo "$DRIVER" >> /out/modules-built.txt
