source .gpu/setup.sh
export COURSE_CHECKPOINT_DIR=$PWD/.gpu/ckpt PYTHONPATH=$PWD:$PWD/.gpu:/tmp/site
i=0
for v in base batch64 ttur lr4e-4 g48 d_none b2_0.99 b1_0; do
  ( OMP_NUM_THREADS=1 taskset -c $i timeout 290 python3 .gpu/exp.py var $v > $OUT/var_$v.log 2>&1 ) &
  i=$((i+1))
done
wait
grep -h "^VAR" $OUT/var_*.log
tail -3 $OUT/var_base.log
