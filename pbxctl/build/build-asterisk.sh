#!/bin/sh
# Builds Asterisk from Debian's upstream tarball into one Debian package, inside a root of the target suite.
# Run by pbxctl/build/asterisk.py (systemd-nspawn, host network for apt): /src holds the verified tarballs,
# /recipe this script and modules.txt, /out receives the .deb. Environment: VERSION, PKG_VERSION.
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

# what the trimmed module set links against, and what makes a .deb; nothing else is installed
BUILD_DEPS="build-essential pkg-config autoconf automake bzip2 xz-utils patch dpkg-dev file
  libedit-dev libjansson-dev libxml2-dev uuid-dev libsqlite3-dev libssl-dev libsrtp2-dev libcurl4-openssl-dev
  libgsm1-dev libspeexdsp-dev libogg-dev libvorbis-dev libsystemd-dev libcap-dev libncurses-dev"
apt-get -o Acquire::Check-Valid-Until=false update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $BUILD_DEPS

work=/build
rm -rf "$work" && mkdir -p "$work/pj" && cd "$work"
tar -xJf /src/asterisk.orig.tar.xz
src="$work/asterisk-$VERSION"
# Debian ships pjproject as a component tarball (a git snapshot); Asterisk's bundled build wants
# pjproject-<version>.tar.bz2 in its download cache, with an md5 it checks: made here as Debian's rules do
tar -xJf /src/pjproject.tar.xz -C "$work/pj"
pjsrc=$(echo "$work"/pj/*)
pjver=$(sed -n 's/^PJPROJECT_VERSION=//p' "$src/third-party/versions.mak")
mv "$pjsrc" "$work/pj/pjproject-$pjver"
# Debian's repack drops the non-free bdimad audio driver from pjproject; its Makefile still lists it (Debian's
# 2014_pjproject_unbreak.patch does the same)
sed -i 's/ bdimad_dev\.o//' "$work/pj/pjproject-$pjver/pjmedia/build/Makefile"
(cd "$work/pj" && tar -cjf "pjproject-$pjver.tar.bz2" "pjproject-$pjver" && rm -rf "pjproject-$pjver")
(cd "$work/pj" && md5sum "pjproject-$pjver.tar.bz2") > "$src/third-party/pjproject/pjproject-$pjver.tar.bz2.md5"

cd "$src"
# configure insists on a download tool; this one always fails, so nothing is fetched behind the checksums
printf '#!/bin/sh\necho "no downloads in a pbxctl build: $*" >&2\nexit 1\n' > /usr/local/bin/fetch
chmod 755 /usr/local/bin/fetch
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
# paths as Debian's package has them, so the role, the checker and the sound packages find everything
./configure -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var --libdir="/usr/lib/$multiarch" \
  --with-pjproject-bundled --with-externals-cache="$work/pj" --without-libjwt --disable-xmldoc \
  --with-gsm --without-sdl
make -s menuselect.makeopts
# only the modules pbxctl's configuration loads (modules.txt, derived from modules.conf.j2 and the checker)
for category in ADDONS APPS BRIDGES CDR CEL CHANNELS CODECS FORMATS FUNCS PBX RES TESTS UTILS AGIS; do
  menuselect/menuselect --disable-category "MENUSELECT_$category" menuselect.makeopts >/dev/null
done
for module in BUILD_NATIVE; do menuselect/menuselect --disable "$module" menuselect.makeopts; done
# sounds come from the distribution's packages (the role installs them): make install must not download any
for category in CORE_SOUNDS MOH EXTRA_SOUNDS; do
  menuselect/menuselect --disable-category "MENUSELECT_$category" menuselect.makeopts >/dev/null
done
while read -r module; do
  [ -n "$module" ] && menuselect/menuselect --enable "$module" menuselect.makeopts
done < /recipe/modules.txt
# NOISY_BUILD: the compiler's own messages reach the log when something fails
make -s -j"$(nproc)" NOISY_BUILD=yes ASTDATADIR=/usr/share/asterisk ASTVARRUNDIR=/var/run/asterisk
pkg="$work/pkg"
make -s install DESTDIR="$pkg" ASTDATADIR=/usr/share/asterisk ASTVARRUNDIR=/var/run/asterisk
rm -rf "$pkg/usr/include" "$pkg/usr/share/asterisk/documentation" "$pkg/var/run"
find "$pkg" -name '*.so*' -type f -exec strip --strip-unneeded {} +
strip "$pkg/usr/sbin/asterisk"

# the configuration pbxctl does not template: where things live and who runs Asterisk
mkdir -p "$pkg/etc/asterisk" "$pkg/lib/systemd/system" "$pkg/DEBIAN"
# what pbxctl does not template and Debian's asterisk-config ships as Asterisk's samples: the tones of the country
# zones (busy, ringback), and the files the core reads at every start. Without them the start logs "Unable to load
# config file" as an ERROR, which the configuration check rightly takes for a refused configuration
for name in indications cel acl udptl pjproject ccss; do
  install -m 0644 "configs/samples/$name.conf.sample" "$pkg/etc/asterisk/$name.conf"
done
cat > "$pkg/etc/asterisk/asterisk.conf" <<EOF
[directories]
astetcdir => /etc/asterisk
astmoddir => /usr/lib/$multiarch/asterisk/modules
astvarlibdir => /var/lib/asterisk
astdbdir => /var/lib/asterisk
astkeydir => /var/lib/asterisk
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => /var/spool/asterisk
astrundir => /var/run/asterisk
astlogdir => /var/log/asterisk
astsbindir => /usr/sbin

[options]
runuser = asterisk
rungroup = asterisk
EOF
cat > "$pkg/lib/systemd/system/asterisk.service" <<'EOF'
[Unit]
Description=Asterisk PBX (built by pbxctl)
After=network.target

[Service]
Type=notify
Environment=HOME=/var/lib/asterisk
WorkingDirectory=/var/lib/asterisk
ExecStart=/usr/sbin/asterisk -g -f -C /etc/asterisk/asterisk.conf
ExecReload=/usr/sbin/asterisk -rx 'core reload'
RuntimeDirectory=asterisk
RuntimeDirectoryMode=0775
Restart=on-failure
RestartSec=4
StandardOutput=null

[Install]
WantedBy=multi-user.target
EOF
cat > "$pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  getent passwd asterisk >/dev/null || adduser --system --group --quiet --home /var/lib/asterisk \
    --no-create-home --disabled-login --gecos "Asterisk PBX daemon" asterisk
  for dir in /var/lib/asterisk /var/lib/asterisk/keys /var/log/asterisk /var/spool/asterisk /etc/asterisk; do
    mkdir -p "$dir"; chown -R asterisk:asterisk "$dir"
  done
  chmod 750 /var/spool/asterisk
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
EOF
chmod 755 "$pkg/DEBIAN/postinst"
(cd "$pkg" && find etc -type f | sed 's|^|/|' | sort) > "$pkg/DEBIAN/conffiles"

# runtime dependencies: whatever the built binaries link against, as the suite's packages name them
mkdir -p debian && printf 'Source: asterisk\n\nPackage: asterisk\nArchitecture: any\n' > debian/control
binaries=$(find "$pkg" -type f \( -name '*.so*' -o -path '*/sbin/*' \) -exec sh -c 'file -b "$1" | grep -q ELF' _ {} \; -print)
# shellcheck disable=SC2086
shlibs=$(dpkg-shlibdeps -O -l"$pkg/usr/lib/$multiarch" $binaries 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
arch=$(dpkg --print-architecture)
cat > "$pkg/DEBIAN/control" <<EOF
Package: asterisk
Version: $PKG_VERSION
Architecture: $arch
Maintainer: pbxctl <root@localhost>
Depends: adduser, $shlibs
Provides: asterisk-modules, asterisk-config
Conflicts: asterisk-modules, asterisk-config
Replaces: asterisk-modules, asterisk-config
Section: comm
Priority: optional
Description: Asterisk PBX $VERSION, built by pbxctl with the modules its configuration loads
EOF
dpkg-deb --root-owner-group -Zxz --build "$pkg" "/out/asterisk_${PKG_VERSION#*:}_${arch}.deb"
ls "$pkg/usr/lib/$multiarch/asterisk/modules" | sed 's/\.so$//' > /out/modules-built.txt
