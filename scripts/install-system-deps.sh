#!/usr/bin/env bash
# Install the Debian packages petdx's tests and reports need, only those missing.
#   dicom3tools   dciodvfy validates the DICOM objects petdx writes
#   dcmtk         dcmcjpeg/dcmcjpls/dcmcrle/dcmconv make the compressed conformance corpus
#   r-base-core r-cran-proc r-cran-survival r-cran-epir  R, the statistics tests' live oracle
#   postgresql    the test suite runs the study database on PostgreSQL too
#   chromium      the HTML report is checked in headless Chromium
#   poppler-utils pdftoppm rasterises the PDF report in tests
#   fonts-dejavu-core  fonts for matplotlib and WeasyPrint
#   libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0  WeasyPrint's text layout (PDF report)
#   orthanc orthanc-dicomweb  the PACS the petdx.pacs tests start (DICOMweb plugin: QIDO-RS, WADO-RS)
set -euo pipefail
packages=(dicom3tools dcmtk r-base-core r-cran-proc r-cran-survival r-cran-epir postgresql chromium poppler-utils fonts-dejavu-core
          libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 orthanc orthanc-dicomweb)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${packages[*]}"
  exit 0
fi
echo "installing system packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
