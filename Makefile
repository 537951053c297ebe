# zcbench — `make demo` (install + a no-download run) and `make test` are the two entry points.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
RESULTS ?= results/zcbench.h5
# PyTorch for a machine that has none yet: the CPU build unless an NVIDIA driver is present (the default PyPI
# wheel bundles CUDA, a ~6 GB environment a CPU machine does not need). A torch already installed is kept.
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,--index-url https://download.pytorch.org/whl/cpu)

.PHONY: install torch test demo clean

torch:
	@$(PYTHON) -c "import torch" 2>/dev/null && echo "torch already installed: keeping it" || $(PIP) install torch $(TORCH_INDEX)

install: torch
	$(PIP) install -e '.[dev]'

# every core (pytest-xdist), one test file per worker: a file's tests share their fixtures
test: install
	$(PYTHON) -m pytest -q -n auto --dist loadfile

demo: install
	zcbench score --space nb201 --sample 50 --proxy params --proxy flops --proxy synflow --out results/demo.h5
	zcbench export results/demo.h5 --format table --sort synflow --head 15

clean:
	rm -rf results reports .pytest_cache

# >>> reproduce targets
# Paper reproductions: `make reproduce-abdelfattah-nb201` etc. Each target checks that the dumps
# and image data it needs are present (else prints what to download and stops), scores with the
# paper's settings, compares with the published cells (`correlate --paper`) and plots, writing
# everything to reports/<target>/: results.h5, commands.sh (the exact commands run), environment.txt,
# pip-freeze.txt, comparison.{txt,md,csv,json,tex}, correlations.{md,csv,json}, figures/.
# Override paths/devices on the command line: make reproduce-swap DATA=/big/data DEVICE=cuda:0
# `make -n reproduce-...` shows every command. CHECK=0.02 makes the comparison fail beyond ±0.02.
DATA ?= data
REPORTS ?= reports
# The machine's device and workers per device, probed once (one torch import) when first used: a plain
# ?= $(shell ...) would import torch at every expansion.
_hw = $(eval _hw := $(shell $(PYTHON) -c "import os, torch; n = torch.cuda.device_count() if torch.cuda.is_available() else 0; print('cuda' if n else 'cpu', max(1, min(4, (os.cpu_count() or 1) // n)) if n else 1)" 2>/dev/null || echo cpu 1))$(_hw)
DEVICE ?= $(word 1,$(_hw))
# Workers per device. On a GPU machine: up to 4 per GPU, at most one CPU core each (a worker's per-architecture
# cost is mostly host-side Python, so one worker leaves a GPU idle; zcbench refuses, with the number that fits,
# when the first architecture shows they would not fit in the GPU's memory). On a CPU-only machine: 1.
WORKERS ?= $(word 2,$(_hw))
CHECK ?=
NB201_DUMP ?= $(DATA)/NAS-Bench-201-v1_0-e61699.pth
NB101_DUMP ?= $(DATA)/nasbench_only108.tfrecord
NB301_DUMP ?= $(DATA)/zc_nasbench301.json
ZC_NB201 ?= $(DATA)/zc_nasbench201.json
TNB101_DUMP ?= $(DATA)/transnas-bench_v10141024.pth
NB101_ALL ?=
NB101_SUITE_SAMPLE ?= 10000
NB201_DATASETS = cifar10 cifar100 ImageNet16-120
TNB101_TASKS = class_scene class_object room_layout jigsaw segmentsemantic normal autoencoder
SAMSUNG_PROXIES = grad_norm snip grasp fisher synflow jacov
SUITE_PROXIES = epe_nas fisher flops grad_norm grasp jacov l2_norm nwot params plain snip synflow zen
SWAP_PROXIES = swap reg_swap nwot

# What to download (keep in sync with data/README.md; `zcbench download NAME` fetches each, verified).
GET_NB201 = NAS-Bench-201 v1.0 dump NAS-Bench-201-v1_0-e61699.pth (2.2 GB, Google Drive link in github.com/D-X-Y/NAS-Bench-201 README; zcbench download nb201-v1_0) -> $(NB201_DUMP)
GET_NB101 = NAS-Bench-101 nasbench_only108.tfrecord (499 MB) from https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord (zcbench download nb101-only108) -> $(NB101_DUMP)
GET_ZC_NB201 = NAS-Bench-Suite-Zero NB201 file zc_nasbench201.json (Google Drive link in the automl/NASLib README, branch zerocost; zcbench download zc-nb201) -> $(ZC_NB201)
GET_NB301 = NAS-Bench-Suite-Zero NB301 file zc_nasbench301.json (Google Drive link in the automl/NASLib README, branch zerocost; zcbench download zc-nb301) -> $(NB301_DUMP)
GET_TNB101 = TransNAS-Bench-101 transnas-bench_v10141024.pth (Google Drive link in github.com/yawen-d/TransNASBench README; zcbench download tnb101) -> $(TNB101_DUMP)
GET_C10 = CIFAR-10 python version https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz unpacked (zcbench download cifar10) -> $(DATA)/cifar-10-batches-py/
GET_C100 = CIFAR-100 python version https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz unpacked (zcbench download cifar100) -> $(DATA)/cifar-100-python/
GET_IN16 = ImageNet16 (downsampled ImageNet 16x16; Google Drive links in the NAS-Bench-201 README and NASLib; zcbench download imagenet16) unpacked -> $(DATA)/ImageNet16/ (train_data_batch_1..10, val_data)
GET_TASKONOMY = Taskonomy mini (NASLib naslib/data/taskonomydata_mini/download_tnb.sh; zcbench download taskonomy-mini) -> $(DATA)/taskonomydata_mini/

# `@m=; $(call need,PATH,WHAT) ... $(needs_done)`, one shell line: each missing input is listed, then the target
# stops when any is missing, before its report folder is created (a failed check leaves nothing behind).
need = { test -e $(1) || { echo "zcbench: missing $(1)"; echo "  download: $(2)"; m=1; }; };
needs_done = test -z "$$m" || { echo "zcbench: download the files above (details in data/README.md), then re-run make $@"; echo "zcbench: all of them, verified: zcbench download --for $@ --to $(DATA)"; exit 1; }
# $(call run,COMMAND): append the command to commands.sh, then run it.
run = echo '$(strip $(1))' >> $(R)/commands.sh && $(1)
ENV_CMD = $(PYTHON) -c "import platform, sys, torch, numpy, scipy, pandas, zcbench; print('python', sys.version.split()[0]); print('platform', platform.platform()); print('zcbench', zcbench.__version__); print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version()); print('numpy', numpy.__version__, 'scipy', scipy.__version__, 'pandas', pandas.__version__); print('devices', [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] or ['cpu']); print('DEVICE=$(DEVICE) WORKERS=$(WORKERS)')"
start = mkdir -p $(R)/figures && echo '\# $@ ($(shell date -u +%Y-%m-%dT%H:%M:%SZ))' > $(R)/commands.sh
finish_env = $(ENV_CMD) > $(R)/environment.txt && (git rev-parse HEAD 2>/dev/null | sed 's/^/git /' >> $(R)/environment.txt || true) && $(PIP) freeze > $(R)/pip-freeze.txt
# $(call compare,PAPER,EXTRA): the paper comparison in every format (terminal copy in comparison.txt).
compare = $(call run,zcbench correlate $(R)/results.h5 --paper $(1) $(2) --format table --out $(R)/comparison.txt) && cat $(R)/comparison.txt && \
	$(call run,zcbench correlate $(R)/results.h5 --paper $(1) $(2) --format markdown --out $(R)/comparison.md) && \
	$(call run,zcbench correlate $(R)/results.h5 --paper $(1) $(2) --format csv --out $(R)/comparison.csv) && \
	$(call run,zcbench correlate $(R)/results.h5 --paper $(1) $(2) --format json --out $(R)/comparison.json) && \
	$(call run,zcbench correlate $(R)/results.h5 --paper $(1) $(2) --format latex --out $(R)/comparison.tex) $(if $(CHECK),&& $(call run,zcbench correlate $(R)/results.h5 --paper $(1) $(2) --check $(CHECK)))
# $(call tables,PROTOCOL,EXTRA): our own full correlation table under the paper's protocol.
tables = $(call run,zcbench correlate $(R)/results.h5 --protocol $(1) $(2) --format markdown --out $(R)/correlations.md) && \
	$(call run,zcbench correlate $(R)/results.h5 --protocol $(1) $(2) --format csv --out $(R)/correlations.csv) && \
	$(call run,zcbench correlate $(R)/results.h5 --protocol $(1) $(2) --format json --out $(R)/correlations.json)
plots = $(call run,zcbench plot $(R)/results.h5 --protocol $(1) --out $(R)/figures)
proxies = $(foreach p,$(1),--proxy $(p))

.PHONY: reproduce-abdelfattah-nb201 reproduce-abdelfattah-nb201-samsung reproduce-abdelfattah-search reproduce-abdelfattah-nb101 reproduce-suite-zero reproduce-suite-zero-predict reproduce-prenas-nb201 reproduce-swap reproduce-all

reproduce-all: reproduce-abdelfattah-nb201 reproduce-abdelfattah-nb101 reproduce-suite-zero reproduce-swap

# Abdelfattah et al. 2021, NB201 Table 1 + vote: batch 64, seed 42, one random batch, default init,
# all 15,625 architectures, |rho| vs 200-epoch test accuracy (SamsungLabs nasbench2_pred.py defaults).
# $(call abdelfattah_nb201,SCORE-EXTRA,SPACE): the NB201 Table 1 reproduction on one network.
define abdelfattah_nb201
@m=; $(call need,$(NB201_DUMP),$(GET_NB201)) \
$(call need,$(DATA)/cifar-10-batches-py,$(GET_C10)) \
$(call need,$(DATA)/cifar-100-python,$(GET_C100)) \
$(call need,$(DATA)/ImageNet16,$(GET_IN16)) \
$(needs_done)
@$(start)
$(foreach ds,$(NB201_DATASETS),$(call run,zcbench score --space nb201 $(1) --dump $(NB201_DUMP) --dataset $(ds) $(call proxies,$(SAMSUNG_PROXIES)) --batch-size 64 --seed 42 --dataload random --dataload-info 1 --device $(DEVICE) --workers $(WORKERS) --data-dir $(DATA) --out $(R)/results.h5) &&) true
$(call compare,abdelfattah2021,--space $(2))
$(call tables,abdelfattah2021,--top-k 10)
$(call plots,abdelfattah2021)
$(finish_env)
endef

reproduce-abdelfattah-nb201: R = $(REPORTS)/reproduce-abdelfattah-nb201
reproduce-abdelfattah-nb201:
	$(call abdelfattah_nb201,,nb201)

# The same cells on the network Samsung actually scored (--variant samsung, stored as nb201[samsung]):
# every candidate op instantiated on every edge, cell convs with bias, affine-free BN (see README).
reproduce-abdelfattah-nb201-samsung: R = $(REPORTS)/reproduce-abdelfattah-nb201-samsung
reproduce-abdelfattah-nb201-samsung:
	$(call abdelfattah_nb201,--variant samsung,"nb201[samsung]")

# Abdelfattah et al. 2021 search experiment (README Figure 2; notebooks/nas_examples.ipynb settings in
# configs/search/abdelfattah2021-nb201.yaml): NB201 CIFAR-100, synflow on all 15,625 cells (data-free:
# only the dump is needed), random search and aging evolution with and without zero-cost warm-up and
# move proposal, 10 rounds x 300 trained models. The paper tabulates no numbers; compare with the figure.
reproduce-abdelfattah-search: R = $(REPORTS)/reproduce-abdelfattah-search
reproduce-abdelfattah-search:
	@m=; $(call need,$(NB201_DUMP),$(GET_NB201)) \
	$(needs_done)
	@$(start)
	$(call run,zcbench score --space nb201 --dump $(NB201_DUMP) --dataset cifar100 --proxy synflow --batch-size 64 --seed 42 --device $(DEVICE) --workers $(WORKERS) --out $(R)/results.h5)
	$(call run,zcbench search $(R)/results.h5 --config abdelfattah2021-nb201 --format markdown --curves $(R)/curves.csv --plot $(R)/figures/search_curves > $(R)/search.md) && cat $(R)/search.md
	$(call run,zcbench search $(R)/results.h5 --config abdelfattah2021-nb201 --format csv > $(R)/search.csv)
	$(finish_env)

# Abdelfattah et al. 2021, NB101 row: batch 256, one random batch, default init (nasbench1_pred.py
# has no seed argument: seed 0 here). All 423,624 specs take long; NB101_ALL= --sample N to subsample.
reproduce-abdelfattah-nb101: R = $(REPORTS)/reproduce-abdelfattah-nb101
reproduce-abdelfattah-nb101:
	@m=; $(call need,$(NB101_DUMP),$(GET_NB101)) \
	$(call need,$(DATA)/cifar-10-batches-py,$(GET_C10)) \
	$(needs_done)
	@$(start)
	$(call run,zcbench score --space nb101 --dump $(NB101_DUMP) --dataset cifar10 $(call proxies,$(SAMSUNG_PROXIES)) --batch-size 256 --seed 0 --dataload random --dataload-info 1 $(NB101_ALL) --device $(DEVICE) --workers $(WORKERS) --data-dir $(DATA) --out $(R)/results.h5)
	$(call compare,abdelfattah2021,--space nb101)
	$(call tables,abdelfattah2021,--top-k 10)
	$(call plots,abdelfattah2021)
	$(finish_env)

# NAS-Bench-Suite-Zero: batch 32, seed 9000, one random batch (NASLib zerocost configs), 13 proxies
# on NB101/NB201/NB301/TNB101; correlate samples 10 x 1000 architectures (seeds 9000-9009).
reproduce-suite-zero: R = $(REPORTS)/reproduce-suite-zero
reproduce-suite-zero:
	@m=; $(call need,$(NB201_DUMP),$(GET_NB201)) \
	$(call need,$(NB101_DUMP),$(GET_NB101)) \
	$(call need,$(NB301_DUMP),$(GET_NB301)) \
	$(call need,$(TNB101_DUMP),$(GET_TNB101)) \
	$(call need,$(DATA)/cifar-10-batches-py,$(GET_C10)) \
	$(call need,$(DATA)/cifar-100-python,$(GET_C100)) \
	$(call need,$(DATA)/ImageNet16,$(GET_IN16)) \
	$(call need,$(DATA)/taskonomydata_mini,$(GET_TASKONOMY)) \
	$(needs_done)
	@$(start)
	$(foreach ds,$(NB201_DATASETS),$(call run,zcbench score --space nb201 --dump $(NB201_DUMP) --dataset $(ds) $(call proxies,$(SUITE_PROXIES)) --batch-size 32 --seed 9000 --dataload random --dataload-info 1 --device $(DEVICE) --workers $(WORKERS) --data-dir $(DATA) --out $(R)/results.h5) &&) true
	$(call run,zcbench score --space nb101 --dump $(NB101_DUMP) --dataset cifar10 $(call proxies,$(SUITE_PROXIES)) --sample $(NB101_SUITE_SAMPLE) --batch-size 32 --seed 9000 --dataload random --dataload-info 1 --device $(DEVICE) --workers $(WORKERS) --data-dir $(DATA) --out $(R)/results.h5)
	$(call run,zcbench score --space nb301 --dump $(NB301_DUMP) --dataset cifar10 $(call proxies,$(SUITE_PROXIES)) --batch-size 32 --seed 9000 --dataload random --dataload-info 1 --device $(DEVICE) --workers $(WORKERS) --data-dir $(DATA) --out $(R)/results.h5)
	$(foreach half,tnb101_micro tnb101_macro,$(foreach t,$(TNB101_TASKS),$(call run,zcbench score --space $(half) --dump $(TNB101_DUMP) --dataset $(t) $(call proxies,$(SUITE_PROXIES)) --batch-size 32 --seed 9000 --dataload random --dataload-info 1 --device $(DEVICE) --workers $(WORKERS) --data-dir $(DATA) --out $(R)/results.h5) &&)) true
	$(call compare,suite-zero,)
	$(call tables,suite-zero,)
	$(call plots,suite-zero)
	$(finish_env)

# NAS-Bench-Suite-Zero §5, proxies as predictor features: XGBoost (NASLib's hyper-parameters) on the NB201
# encoding, the 13 published CIFAR-100 scores, and both; 100 train / 1000 test, 100 trials (preset
# configs/predict/suite-zero-xgb.yaml): ours | paper | Δ beside 0.640/0.907/0.908. Needs only the Suite-Zero
# NB201 file (its scores and validation accuracies are imported; nothing is scored). Each format is one run
# of the same seeded trials, so the files hold the same numbers.
reproduce-suite-zero-predict: R = $(REPORTS)/reproduce-suite-zero-predict
reproduce-suite-zero-predict:
	@m=; $(call need,$(ZC_NB201),$(GET_ZC_NB201)) \
	$(needs_done)
	@$(start)
	$(call run,zcbench import naslib $(ZC_NB201) --out $(R)/results.h5)
	$(call run,zcbench predict $(R)/results.h5 --config suite-zero-xgb --format table --out $(R)/comparison.txt --plot $(R)/figures/learning_curve) && cat $(R)/comparison.txt
	$(call run,zcbench predict $(R)/results.h5 --config suite-zero-xgb --format markdown --out $(R)/comparison.md)
	$(call run,zcbench predict $(R)/results.h5 --config suite-zero-xgb --format json --out $(R)/comparison.json)
	$(finish_env)

# PRE-NAS (GECCO 2022 / IEEE TEVC 2023) on NB201 with 100 queries, 20 rounds, beside random search and aging
# evolution (preset configs/search/prenas2022-nb201.yaml). PRE-NAS uses no zero-cost proxy: the results file
# holds `params` (data-free: no image set is needed) and the dump's accuracies; --dump gives CIFAR-10's test
# accuracy from NB201's cifar10 entry (train+valid), as the papers report it.
reproduce-prenas-nb201: R = $(REPORTS)/reproduce-prenas-nb201
reproduce-prenas-nb201:
	@m=; $(call need,$(NB201_DUMP),$(GET_NB201)) \
	$(needs_done)
	@$(start)
	$(foreach ds,$(NB201_DATASETS),$(call run,zcbench score --space nb201 --dump $(NB201_DUMP) --dataset $(ds) --proxy params --seed 0 --device $(DEVICE) --workers $(WORKERS) --out $(R)/results.h5) &&) true
	$(call run,zcbench search $(R)/results.h5 --config prenas2022-nb201 --dump $(NB201_DUMP) --format markdown --curves $(R)/curves.csv --plot $(R)/figures/search_curves > $(R)/search.md) && cat $(R)/search.md
	$(call run,zcbench search $(R)/results.h5 --config prenas2022-nb201 --dump $(NB201_DUMP) --format json > $(R)/search.json)
	$(finish_env)

# SWAP-NAS 2024 abstract: reg_swap 0.90 / nwot 0.80 vs NB201 CIFAR-100 validation accuracy.
# SWAP code defaults: 16 input samples, seed 0, mean of 32 Gaussian re-inits. The paper's
# regularisation mu/sigma are unknown: pass them with SWAP_OPTIONS='--option reg_swap_mu=... --option reg_swap_sigma=...'.
SWAP_OPTIONS ?=
reproduce-swap: R = $(REPORTS)/reproduce-swap
reproduce-swap:
	@m=; $(call need,$(NB201_DUMP),$(GET_NB201)) \
	$(call need,$(DATA)/cifar-100-python,$(GET_C100)) \
	$(needs_done)
	@$(start)
	$(call run,zcbench score --space nb201 --dump $(NB201_DUMP) --dataset cifar100 $(call proxies,$(SWAP_PROXIES)) --batch-size 16 --seed 0 --dataload random --dataload-info 1 --option swap_repeats=32 $(SWAP_OPTIONS) --device $(DEVICE) --workers $(WORKERS) --data-dir $(DATA) --out $(R)/results.h5)
	$(call compare,swap2024,)
	$(call tables,swap2024,)
	$(call plots,swap2024)
	$(finish_env)
# <<< reproduce targets
