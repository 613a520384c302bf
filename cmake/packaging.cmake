# Installation and the Debian package (CPack DEB): `cpack --config build/release/CPackConfig.cmake` or
# scripts/package.sh writes vane_<version>_amd64.deb. What it installs:
#   /usr/bin/vane                          the binary (the dashboard is embedded in it)
#   /usr/lib/systemd/system/vane.service   the unit (packaging/vane.service): runs as user vane, logs to the journal
#   /etc/vane/vane.toml                    the configuration (a conffile: kept across upgrades when edited)
#   /var/lib/vane                          data (store, snapshots, model versions), made by the postinst
#   /usr/share/doc/vane/                   README, docs, copyright
# Dependencies come from dpkg-shlibdeps (the shared libraries the binary links: libtorch, RocksDB, httplib, ...).
install(TARGETS vane RUNTIME DESTINATION bin)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/vane.service DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/vane.toml DESTINATION /etc/vane)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/BENCHMARKS.md DESTINATION share/doc/vane)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/vane/docs)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vane)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time interest capture and recommendation engine")
string(CONCAT CPACK_PACKAGE_DESCRIPTION "vane reads a stream of user behaviour (views, searches, clicks, purchases), "
       "keeps each user's interests current and serves recommendations with reasons over an HTTP API (with a "
       "Gorse-compatible API and a live dashboard), on an embedded RocksDB store.")
set(CPACK_PACKAGE_CONTACT "vane maintainers <vane@localhost>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # vane_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${PROJECT_SOURCE_DIR}/packaging/postinst;${PROJECT_SOURCE_DIR}/packaging/prerm;${PROJECT_SOURCE_DIR}/packaging/postrm;${PROJECT_SOURCE_DIR}/packaging/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
