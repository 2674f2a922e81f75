# civicline: `make run` starts the IVR with its demo defaults, `make test` runs every test.
# Both install what is missing first (Debian/Ubuntu packages with apt-get, Python packages
# into .venv with pip).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench kamailio cluster system-packages test-system-packages clean translations

run: system-packages $(INSTALLED)
	$(BIN)/ivr db upgrade
	$(BIN)/ivr flows check
	@echo "Starting the worker, the server and (with CIVICLINE_SIP_PASSWORD) ivr sip; Ctrl-C stops them."
	@$(BIN)/ivr worker & worker=$$!; sip=; \
		if [ -n "$$CIVICLINE_SIP_PASSWORD" ]; then $(BIN)/ivr sip & sip=$$!; fi; \
		trap 'kill $$worker $$sip 2>/dev/null' EXIT INT TERM; \
		$(BIN)/ivr serve

test: test-system-packages $(INSTALLED)
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ivr/engine ivr/channels/line.py menus routing

bench: $(INSTALLED) test-system-packages
	$(BIN)/python bench/engine.py

# The supervisor site's catalogues: marked strings extracted, merged into ro and bg, compiled.
translations: $(INSTALLED)
	$(BIN)/pybabel extract -F ivr/web/babel.cfg -k _l --no-location --sort-output \
		--project civicline --copyright-holder civicline -o ivr/web/translations/messages.pot .
	$(BIN)/pybabel update -i ivr/web/translations/messages.pot -d ivr/web/translations \
		--no-fuzzy-matching --width 100
	$(BIN)/pybabel compile -d ivr/web/translations --statistics

# Kamailio for development, in the foreground: the registrar of `ivr sip` nodes and the
# dispatcher in front of them (deploy/kamailio.cfg), SIP on udp:127.0.0.1:5060 and TLS on
# 5061 with a self-signed certificate made once in deploy/tls/. NODES lists the nodes: one
# (deploy/dispatcher.list) by default, NODES=deploy/dispatcher-two-nodes.list for two.
NODES ?= deploy/dispatcher.list
KAMAILIO_CTL ?= /tmp/civicline-kamailio.ctl

kamailio: test-system-packages deploy/tls/kamailio.crt
	CIVICLINE_SIP_PASSWORD="$${CIVICLINE_SIP_PASSWORD:?set the SIP password of the nodes}" \
		$$(command -v kamailio || echo /usr/sbin/kamailio) -f deploy/kamailio.cfg -DD -E \
		-w "$(CURDIR)/deploy" -A 'DISPATCHER_LIST="$(abspath $(NODES))"' -A WITH_TLS \
		-A 'CTL_SOCKET="unix:$(KAMAILIO_CTL)"'

deploy/tls/kamailio.crt:
	mkdir -p -m 700 deploy/tls
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout deploy/tls/kamailio.key -out $@
	chmod 600 deploy/tls/kamailio.key

# A trial cluster on this machine (deploy/Procfile, run by honcho): PostgreSQL, SeaweedFS, two
# `ivr serve` behind nginx on http://127.0.0.1:8080, two `ivr worker`, and with
# CIVICLINE_SIP_PASSWORD Kamailio and two `ivr sip`, all in data-cluster/; Ctrl-C stops it.
CLUSTER_WITHOUT_SIP = postgres s3 serve1 serve2 nginx worker1 worker2
cluster: test-system-packages $(INSTALLED)
	CIVICLINE_DATA_DIR=data-cluster/node $(BIN)/ivr prompts build
	$(BIN)/honcho -f deploy/Procfile -e deploy/cluster.env -d "$(CURDIR)" start \
		$$([ -n "$$CIVICLINE_SIP_PASSWORD" ] || echo $(CLUSTER_WITHOUT_SIP))

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Python's venv module (Debian splits it out of python3).
system-packages:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends python3-venv)

# The tests start their own PostgreSQL server from Debian's binaries; the speech tests and
# `ivr prompts build` speak with espeak-ng; the SIP tests run Kamailio (with its TLS module;
# openssl makes their certificates), SIPp and baresip; the two-node tests put nginx in front
# of two `ivr serve`.
test-system-packages: system-packages
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends postgresql)
	@command -v chromium >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium)
	@command -v espeak-ng >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends espeak-ng)
	@command -v sox >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends sox)
	@command -v kamailio >/dev/null || [ -x /usr/sbin/kamailio ] || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends kamailio)
	@ls /usr/lib/*/kamailio/modules/tls.so >/dev/null 2>&1 || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends kamailio-tls-modules)
	@command -v openssl >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends openssl)
	@command -v sipp >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends sip-tester)
	@command -v baresip >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends baresip)
	@[ -x /usr/sbin/nginx ] || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends nginx)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
