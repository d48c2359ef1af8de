"""Topics stage: papers and vectors in, sections out. Pure and seeded; imports models, errors.

assign   configured topics: scores, boundaries, one primary topic per paper
cluster  discovered themes among the rest (scikit-learn, imported lazily)
labels   theme names from the theme's own papers
"""
