source .gpu/setup.sh
mkdir -p $OUT
export COURSE_CHECKPOINT_DIR=$PWD/.gpu/ckpt PYTHONPATH=$PWD:$PWD/.gpu:/tmp/site
# GPU jobs (2 threads each)
( OMP_NUM_THREADS=2 taskset -c 0 timeout 520 python3 .gpu/exp.py dcgan 32 > $OUT/dcgan32.log 2>&1 ) &
( OMP_NUM_THREADS=2 taskset -c 1 timeout 520 python3 .gpu/exp.py dcgan 64 > $OUT/dcgan64.log 2>&1 ) &
( OMP_NUM_THREADS=2 taskset -c 2 timeout 520 python3 .gpu/exp.py cgan channels > $OUT/cgan_channels.log 2>&1 ) &
( OMP_NUM_THREADS=2 taskset -c 3 timeout 520 python3 .gpu/exp.py cgan projection > $OUT/cgan_projection.log 2>&1 ) &
( OMP_NUM_THREADS=2 taskset -c 4,5 timeout 540 python3 benchmarks/diffusion_quality.py --minutes 3.5 --samples 10000 --skip-ring --output diffusion_quality-gpu-long --note "GPU run, 3.5 min per model, beside four other GPU jobs" 2>&1 | tr '\r' '\n' | grep -v "it/s\]$" > $OUT/diffusion_long.log; cp benchmarks/results/diffusion_quality-gpu-long.json $OUT/ ) &
# WGAN ring grid on the CPU cores 6-15, one thread each
for lr in 1e-4 2e-4 5e-4 1e-3; do for b1 in 0 0.5; do for s in 5 6 7 8 9; do echo "$lr $b1 $s"; done; done; done | \
  CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=1 taskset -c 6-15 xargs -P 10 -L 1 sh -c 'timeout 400 python3 .gpu/exp.py ring $0 $1 $2 3000' > $OUT/ring.log 2>&1 &
wait
grep -h "^DCGAN\|^CGAN\|^RING" $OUT/*.log | cut -c1-400
tail -30 $OUT/diffusion_long.log
