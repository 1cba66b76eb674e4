;; The inner loops of a one-thread fit over bins left in place (TreeGrower's indexed layout) and
;; the sketch's sort, as WebAssembly: compiled before their first call instead of interpreted
;; until V8 has seen enough of them, and adding a row's (gradient, hessian) pair to a bin as one
;; 128-bit load, add and store. Each does what the JavaScript it stands for does, operation for
;; operation: every bin is summed over the rows in their order, each lane an IEEE double addition,
;; so the sums are bit for bit those of addRowsToHist; the partition keeps the rows' order as
;; partitionIndexed does; the scan rounds where scanFeature rounds. Addresses are byte offsets
;; into the module's memory, which the caller lays out (kernels.ts); `npm run wasm` assembles this
;; file into kernels-wasm.ts.
(module
  ;; The caller makes the memory at its full size: growing one detaches its buffer, and V8 then
  ;; checks for detached buffers in every typed array access of the process's optimised code.
  (import "env" "memory" (memory 1))

  ;; Rows [begin, end) in order: row i's bins (u16) from bins + 2·(i·stride + first), its pair at
  ;; gh + 16·i; features [first, first + nf) added to the pairs at hist + 16·bin.
  (func (export "histRows")
    (param $hist i32) (param $bins i32) (param $stride i32) (param $gh i32)
    (param $begin i32) (param $end i32) (param $first i32) (param $nf i32)
    (local $i i32) (local $p i32) (local $last i32) (local $at i32) (local $pair v128)
    (local.set $i (local.get $begin))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $pair (v128.load (i32.add (local.get $gh) (i32.shl (local.get $i) (i32.const 4)))))
        (local.set $p (i32.add (local.get $bins)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $stride)) (local.get $first)) (i32.const 1))))
        (local.set $last (i32.add (local.get $p) (i32.shl (local.get $nf) (i32.const 1))))
        (block $featuresDone
          (loop $features
            (br_if $featuresDone (i32.ge_u (local.get $p) (local.get $last)))
            (local.set $at (i32.add (local.get $hist) (i32.shl (i32.load16_u (local.get $p)) (i32.const 4))))
            (v128.store (local.get $at) (f64x2.add (v128.load (local.get $at)) (local.get $pair)))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $features)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; histRows for the rows whose indices are rows[begin, end) (u32 at rows + 4·i): row r's bins
  ;; from bins + 2·(r·stride + first), its pair at gh + 16·r.
  (func (export "histIndexed")
    (param $hist i32) (param $bins i32) (param $stride i32) (param $gh i32) (param $rows i32)
    (param $begin i32) (param $end i32) (param $first i32) (param $nf i32)
    (local $i i32) (local $r i32) (local $p i32) (local $last i32) (local $at i32) (local $pair v128)
    (local.set $i (local.get $begin))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $r (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $pair (v128.load (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))))
        (local.set $p (i32.add (local.get $bins)
          (i32.shl (i32.add (i32.mul (local.get $r) (local.get $stride)) (local.get $first)) (i32.const 1))))
        (local.set $last (i32.add (local.get $p) (i32.shl (local.get $nf) (i32.const 1))))
        (block $featuresDone
          (loop $features
            (br_if $featuresDone (i32.ge_u (local.get $p) (local.get $last)))
            (local.set $at (i32.add (local.get $hist) (i32.shl (i32.load16_u (local.get $p)) (i32.const 4))))
            (v128.store (local.get $at) (f64x2.add (v128.load (local.get $at)) (local.get $pair)))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $features)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; The larger child's histogram from its parent's (at `large`, `bytes` long): the smaller one's
  ;; pairs taken off, pair by pair.
  (func (export "subtract") (param $large i32) (param $small i32) (param $bytes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $large) (local.get $bytes)))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u (local.get $large) (local.get $end)))
        (v128.store (local.get $large) (f64x2.sub (v128.load (local.get $large)) (v128.load (local.get $small))))
        (local.set $large (i32.add (local.get $large) (i32.const 16)))
        (local.set $small (i32.add (local.get $small) (i32.const 16)))
        (br $pairs))))

  ;; Row indices rows[begin, end) (u32 at rows + 4·i) whose bin (u16 at column + 2·row) has
  ;; direction 0 at right + bin stay in front, in order, those with 1 follow them, in order, by
  ;; way of `scratch`; answers where they start. Without branches: each row is written to both
  ;; sides and only one position advances.
  (func (export "partition")
    (param $rows i32) (param $scratch i32) (param $column i32) (param $right i32) (param $begin i32) (param $end i32)
    (result i32)
    (local $i i32) (local $l i32) (local $r i32) (local $row i32) (local $toRight i32)
    (local.set $i (local.get $begin))
    (local.set $l (local.get $begin))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $row (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $toRight (i32.load8_u (i32.add (local.get $right)
          (i32.load16_u (i32.add (local.get $column) (i32.shl (local.get $row) (i32.const 1)))))))
        (i32.store (i32.add (local.get $rows) (i32.shl (local.get $l) (i32.const 2))) (local.get $row))
        (i32.store (i32.add (local.get $scratch) (i32.shl (local.get $r) (i32.const 2))) (local.get $row))
        (local.set $l (i32.add (local.get $l) (i32.xor (local.get $toRight) (i32.const 1))))
        (local.set $r (i32.add (local.get $r) (local.get $toRight)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (memory.copy
      (i32.add (local.get $rows) (i32.shl (local.get $l) (i32.const 2)))
      (local.get $scratch)
      (i32.shl (local.get $r) (i32.const 2)))
    (local.get $l))

  ;; scanFeature (tree.ts) for a plain split (no L1 term, no step cap), operation for operation:
  ;; feature bins [lo, hi) of the histogram at `hist` scanned upwards with missing values right,
  ;; then, when the node has missing values, downwards with them left; a candidate must beat
  ;; `floor` and the best before it strictly, and `below` skips the divisions of candidates that
  ;; cannot. The best is written at `out` as scanFeature writes it (gain, bin, 1 when missing values
  ;; go left, the left sums, the side gains summed); answers whether any candidate beat `floor`.
  (func (export "scan")
    (param $hist i32) (param $lo i32) (param $hi i32) (param $G f64) (param $H f64) (param $rootGain f64)
    (param $mcw f64) (param $lambda f64) (param $bounded i32) (param $floor f64) (param $floorSum f64) (param $out i32)
    (result i32)
    (local $best f64) (local $limit f64) (local $gl f64) (local $hl f64) (local $gr f64) (local $hr f64)
    (local $g f64) (local $h f64) (local $sum f64) (local $gain f64) (local $b i32) (local $at i32)
    (local.set $best (local.get $floor))
    (local.set $limit (f64.const -inf))
    (if (i32.and (local.get $bounded) (f64.ge (local.get $floorSum) (f64.const 0x1.0c6f7a0b5ed8dp-20)))
      (then (local.set $limit (f64.mul (local.get $floorSum) (f64.const 0x1.ffffde7210be9p-1)))))
    (local.set $b (local.get $lo))
    (block $upDone
      (loop $up
        (br_if $upDone (i32.ge_s (local.get $b) (local.get $hi)))
        (local.set $at (i32.add (local.get $hist) (i32.shl (local.get $b) (i32.const 4))))
        (local.set $gl (f64.add (local.get $gl) (f64.load (local.get $at))))
        (local.set $hl (f64.add (local.get $hl) (f64.load offset=8 (local.get $at))))
        (local.set $hr (f64.sub (local.get $H) (local.get $hl)))
        (local.set $gr (f64.sub (local.get $G) (local.get $gl)))
            (if (i32.and (f64.ge (local.get $hl) (local.get $mcw)) (f64.ge (local.get $hr) (local.get $mcw)))
              (then
                (if (i32.eqz (i32.and (i32.and
                (f64.lt (f64.mul (local.get $gl) (local.get $gl)) (f64.const 0x1.ff933c78cdfadp+127))
                (f64.lt (f64.mul (local.get $gr) (local.get $gr)) (f64.const 0x1.ff933c78cdfadp+127)))
                (f64.lt
                  (f64.add
                    (f64.mul (f64.mul (local.get $gl) (local.get $gl)) (f64.add (local.get $hr) (local.get $lambda)))
                    (f64.mul (f64.mul (local.get $gr) (local.get $gr)) (f64.add (local.get $hl) (local.get $lambda))))
                  (f64.mul (f64.mul (local.get $limit) (f64.add (local.get $hl) (local.get $lambda))) (f64.add (local.get $hr) (local.get $lambda))))))
                  (then
                    ;; plainSum: each side's f(f(g²) / f(h + λ)) (0 without hessian), summed in float
                    (local.set $sum (f64.promote_f32 (f32.demote_f64 (f64.add
                      (if (result f64) (f64.gt (local.get $hl) (f64.const 0))
                  (then (f64.promote_f32 (f32.demote_f64 (f64.div (f64.promote_f32 (f32.demote_f64 (f64.mul (local.get $gl) (local.get $gl)))) (f64.promote_f32 (f32.demote_f64 (f64.add (local.get $hl) (local.get $lambda))))))))
                  (else (f64.const 0)))
                      (if (result f64) (f64.gt (local.get $hr) (f64.const 0))
                  (then (f64.promote_f32 (f32.demote_f64 (f64.div (f64.promote_f32 (f32.demote_f64 (f64.mul (local.get $gr) (local.get $gr)))) (f64.promote_f32 (f32.demote_f64 (f64.add (local.get $hr) (local.get $lambda))))))))
                  (else (f64.const 0)))))))
                    (local.set $gain (f64.promote_f32 (f32.demote_f64 (f64.sub (local.get $sum) (local.get $rootGain)))))
                    (if (f64.gt (local.get $gain) (local.get $best))
                      (then
                        (local.set $best (local.get $gain))
                        (f64.store (local.get $out) (local.get $gain))
                        (f64.store offset=8 (local.get $out) (f64.convert_i32_s (local.get $b)))
                        (f64.store offset=16 (local.get $out) (f64.const 0))
                        (f64.store offset=24 (local.get $out) (local.get $gl))
                        (f64.store offset=32 (local.get $out) (local.get $hl))
                        (f64.store offset=40 (local.get $out) (local.get $sum))
                        ;; sumLimit(sum): 10⁻⁶ below the best's sum, or no bound under 10⁻⁶
                        (if (local.get $bounded)
                          (then (local.set $limit (select
                            (f64.mul (local.get $sum) (f64.const 0x1.ffffde7210be9p-1))
                            (f64.const -inf)
                            (f64.ge (local.get $sum) (f64.const 0x1.0c6f7a0b5ed8dp-20))))))))))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $up)))
    ;; After the last bin the sums are the node's present values: the rest is missing.
    (if (i32.eqz (f64.gt (f64.sub (local.get $H) (local.get $hl)) (f64.mul (f64.const 0x1.b7cdfd9d7bdbbp-34) (f64.max (f64.const 1) (local.get $H)))))
      (then (return (f64.gt (local.get $best) (local.get $floor)))))
    ;; Downwards, bins ≥ b go right; the left side (missing values and bins < b) splits at b - 1.
    (local.set $gr (f64.const 0))
    (local.set $hr (f64.const 0))
    (local.set $b (i32.sub (local.get $hi) (i32.const 1)))
    (block $downDone
      (loop $down
        (br_if $downDone (i32.le_s (local.get $b) (local.get $lo)))
        (local.set $at (i32.add (local.get $hist) (i32.shl (local.get $b) (i32.const 4))))
        (local.set $gr (f64.add (local.get $gr) (f64.load (local.get $at))))
        (local.set $hr (f64.add (local.get $hr) (f64.load offset=8 (local.get $at))))
        (local.set $h (f64.sub (local.get $H) (local.get $hr)))
        (local.set $g (f64.sub (local.get $G) (local.get $gr)))
            (if (i32.and (f64.ge (local.get $h) (local.get $mcw)) (f64.ge (local.get $hr) (local.get $mcw)))
              (then
                (if (i32.eqz (i32.and (i32.and
                (f64.lt (f64.mul (local.get $g) (local.get $g)) (f64.const 0x1.ff933c78cdfadp+127))
                (f64.lt (f64.mul (local.get $gr) (local.get $gr)) (f64.const 0x1.ff933c78cdfadp+127)))
                (f64.lt
                  (f64.add
                    (f64.mul (f64.mul (local.get $g) (local.get $g)) (f64.add (local.get $hr) (local.get $lambda)))
                    (f64.mul (f64.mul (local.get $gr) (local.get $gr)) (f64.add (local.get $h) (local.get $lambda))))
                  (f64.mul (f64.mul (local.get $limit) (f64.add (local.get $h) (local.get $lambda))) (f64.add (local.get $hr) (local.get $lambda))))))
                  (then
                    ;; plainSum: each side's f(f(g²) / f(h + λ)) (0 without hessian), summed in float
                    (local.set $sum (f64.promote_f32 (f32.demote_f64 (f64.add
                      (if (result f64) (f64.gt (local.get $h) (f64.const 0))
                  (then (f64.promote_f32 (f32.demote_f64 (f64.div (f64.promote_f32 (f32.demote_f64 (f64.mul (local.get $g) (local.get $g)))) (f64.promote_f32 (f32.demote_f64 (f64.add (local.get $h) (local.get $lambda))))))))
                  (else (f64.const 0)))
                      (if (result f64) (f64.gt (local.get $hr) (f64.const 0))
                  (then (f64.promote_f32 (f32.demote_f64 (f64.div (f64.promote_f32 (f32.demote_f64 (f64.mul (local.get $gr) (local.get $gr)))) (f64.promote_f32 (f32.demote_f64 (f64.add (local.get $hr) (local.get $lambda))))))))
                  (else (f64.const 0)))))))
                    (local.set $gain (f64.promote_f32 (f32.demote_f64 (f64.sub (local.get $sum) (local.get $rootGain)))))
                    (if (f64.gt (local.get $gain) (local.get $best))
                      (then
                        (local.set $best (local.get $gain))
                        (f64.store (local.get $out) (local.get $gain))
                        (f64.store offset=8 (local.get $out) (f64.convert_i32_s (i32.sub (local.get $b) (i32.const 1))))
                        (f64.store offset=16 (local.get $out) (f64.const 1))
                        (f64.store offset=24 (local.get $out) (local.get $g))
                        (f64.store offset=32 (local.get $out) (local.get $h))
                        (f64.store offset=40 (local.get $out) (local.get $sum))
                        ;; sumLimit(sum): 10⁻⁶ below the best's sum, or no bound under 10⁻⁶
                        (if (local.get $bounded)
                          (then (local.set $limit (select
                            (f64.mul (local.get $sum) (f64.const 0x1.ffffde7210be9p-1))
                            (f64.const -inf)
                            (f64.ge (local.get $sum) (f64.const 0x1.0c6f7a0b5ed8dp-20))))))))))))
        (local.set $b (i32.sub (local.get $b) (i32.const 1)))
        (br $down)))
    (f64.gt (local.get $best) (local.get $floor)))

  ;; Sorts the n floats (no NaN) at `values` in place, ascending with -0 before 0, by an LSD radix
  ;; sort on order-preserving keys of their bits (negative floats with every bit flipped, others
  ;; with the sign bit set), 11, 11 and 10 bits a pass, `other` (n u32) as scratch and `counts`
  ;; (3 × 2048 u32) for the digits' counts. A digit every key shares moves nothing.
  (func (export "sortFloats") (param $values i32) (param $other i32) (param $counts i32) (param $n i32)
    (local $i i32) (local $k i32) (local $keys i32) (local $to i32) (local $swap i32) (local $d i32)
    (local $shift i32) (local $digits i32) (local $sum i32) (local $c i32) (local $at i32)
    (memory.fill (local.get $counts) (i32.const 0) (i32.const 24576))
    (block $keyed
      (loop $key
        (br_if $keyed (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $k (i32.load (local.get $at)))
        (local.set $k (select
          (i32.xor (local.get $k) (i32.const -1))
          (i32.or (local.get $k) (i32.const 0x80000000))
          (i32.lt_s (local.get $k) (i32.const 0))))
        (i32.store (local.get $at) (local.get $k))
        (local.set $at (i32.add (local.get $counts) (i32.shl (i32.and (local.get $k) (i32.const 2047)) (i32.const 2))))
        (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1)))
        (local.set $at (i32.add (local.get $counts) (i32.shl (i32.and (i32.shr_u (local.get $k) (i32.const 11)) (i32.const 2047)) (i32.const 2))))
        (i32.store offset=8192 (local.get $at) (i32.add (i32.load offset=8192 (local.get $at)) (i32.const 1)))
        (local.set $at (i32.add (local.get $counts) (i32.shl (i32.shr_u (local.get $k) (i32.const 22)) (i32.const 2))))
        (i32.store offset=16384 (local.get $at) (i32.add (i32.load offset=16384 (local.get $at)) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $key)))
    (local.set $keys (local.get $values))
    (local.set $to (local.get $other))
    (block $passesDone
      (loop $pass
        (br_if $passesDone (i32.ge_u (local.get $d) (i32.const 3)))
        (local.set $shift (i32.mul (local.get $d) (i32.const 11)))
        (local.set $digits (i32.add (local.get $counts) (i32.mul (local.get $d) (i32.const 8192))))
        ;; A pass moves something unless the first key's digit is every key's.
        (if (i32.and (i32.gt_u (local.get $n) (i32.const 0))
              (i32.ne (local.get $n) (i32.load (i32.add (local.get $digits)
                (i32.shl (i32.and (i32.shr_u (i32.load (local.get $keys)) (local.get $shift)) (i32.const 2047)) (i32.const 2))))))
          (then
            ;; Each digit's count to the place where its keys start.
            (local.set $sum (i32.const 0))
            (local.set $i (i32.const 0))
            (block $startsDone
              (loop $starts
                (br_if $startsDone (i32.ge_u (local.get $i) (i32.const 2048)))
                (local.set $at (i32.add (local.get $digits) (i32.shl (local.get $i) (i32.const 2))))
                (local.set $c (i32.load (local.get $at)))
                (i32.store (local.get $at) (local.get $sum))
                (local.set $sum (i32.add (local.get $sum) (local.get $c)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $starts)))
            (local.set $i (i32.const 0))
            (block $scattered
              (loop $scatter
                (br_if $scattered (i32.ge_u (local.get $i) (local.get $n)))
                (local.set $k (i32.load (i32.add (local.get $keys) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $at (i32.add (local.get $digits) (i32.shl (i32.and (i32.shr_u (local.get $k) (local.get $shift)) (i32.const 2047)) (i32.const 2))))
                (local.set $c (i32.load (local.get $at)))
                (i32.store (i32.add (local.get $to) (i32.shl (local.get $c) (i32.const 2))) (local.get $k))
                (i32.store (local.get $at) (i32.add (local.get $c) (i32.const 1)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $scatter)))
            (local.set $swap (local.get $keys))
            (local.set $keys (local.get $to))
            (local.set $to (local.get $swap))))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br $pass)))
    ;; Keys back to float bits, into `values`.
    (local.set $i (i32.const 0))
    (block $back
      (loop $each
        (br_if $back (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $k (i32.load (i32.add (local.get $keys) (i32.shl (local.get $i) (i32.const 2)))))
        (i32.store (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2)))
          (select
            (i32.and (local.get $k) (i32.const 0x7fffffff))
            (i32.xor (local.get $k) (i32.const -1))
            (i32.lt_s (local.get $k) (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))))
